"""One Wyoming client connection: describe, speech-to-text, text-to-speech and Grok's answers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from typing import Any

from wyoming.asr import (
    Transcribe,
    Transcript,
    TranscriptChunk,
    TranscriptStart,
    TranscriptStop,
)
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, write_event
from wyoming.info import Describe
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop
from wyoming.wake import Detect

from alicia_bus import agent, agent_proof
from alicia_bus.log_limit import LimitedLog
from alicia_bus.text import excerpt

from .agent_turn import AgentTurn
from .audio import AudioFormatError, PcmFormat
from .authority import Authority, peer_name, wyoming_client
from .connections import NotAdmitted, Peer
from .engines import Engines
from .event_fields import FieldError, Fields
from .framing import FrameError, ReadClock, read_event, unless_hung_up
from .handle_turn import QuestionRefused, handle
from .keys import AgentProofs
from .speaking import Speaking
from .voice import (
    EarlyQuestion,
    SttError,
    SttSession,
    TtsError,
    WakeError,
    check_language,
    listen,
)
from .wake_turn import Waking, wake_program

_LOGGER = logging.getLogger(__name__)
# A refusal is a line per kind (its error code) a minute: clients that reconnect
# and are refused each time must not fill the log.
_REFUSALS = LimitedLog(_LOGGER)
# How long one connection may go on with buffered events before others get a turn,
# and how long a read must take to count as having waited for the client.
TURN_SECONDS = 0.005
CHUNK = "audio-chunk"  # the type AudioChunk.is_type accepts
READ_WAITED_SECONDS = 0.001


class NotReading(ConnectionError):
    """The peer did not take our events within write_seconds."""


class AliciaEventHandler(AsyncEventHandler):
    """One client connection: describe, STT sessions, TTS requests and questions."""

    def __init__(
        self,
        engines: Engines,
        *args: Any,
        proofs: AgentProofs | None = None,
        **kwargs: Any,
    ) -> None:
        """Start idle; proofs show HA's agent this is the voice server it approved."""
        super().__init__(*args, **kwargs)
        self.engines = engines
        self.settings = engines.settings
        authority = self._authority()
        self.peer = Peer(
            peer_name(self.writer), self._make_room, self._streaming,
            address=authority.who, trusted=authority.may_act,
        )  # fmt: skip
        self._language: str | None = None
        self._stream_transcript = False
        self._stt: SttSession | None = None
        # The server ended the speaker's turn itself: the rest of the stream is quiet.
        self._turn_ended = False
        self._stt_format: PcmFormat | None = None
        self._stt_since = 0.0
        self._counted = False
        self._speaking = Speaking(
            engines, self.write_event, self._speaking_failed, authority.may_act
        )
        # Audio heard on the event loop: an untrusted requester's paced across connections.
        self._pace = engines.listening.pace(authority)
        self._waking = Waking(self.write_event, self._pace)
        self._agent = AgentTurn(
            engines, self.write_event, authority, self.writer.transport.abort,
            proofs,
        )  # fmt: skip
        self._early = EarlyQuestion(engines, authority)

    async def run(self) -> None:
        """Events until the client leaves, within our framing limits, deadlines and connection cap."""
        self.engines.connections.arrive(self.peer)
        self._clock = ReadClock(self.settings.frame_seconds)
        try:
            busy_since = time.monotonic()
            while True:
                asked = time.monotonic()
                if (event := await self._next_event()) is None:
                    break
                if time.monotonic() - asked > READ_WAITED_SECONDS:
                    busy_since = time.monotonic()
                if not await self.handle_event(event):
                    return
                # Events already buffered are read without a pause: after a few ms of
                # them, let the other connections (and the listener's accepts) have
                # their turn. A read that waited has given them one already.
                if time.monotonic() - busy_since > TURN_SECONDS:
                    await asyncio.sleep(0)
                    busy_since = time.monotonic()
        except ConnectionError as err:
            self._gone(err)
        finally:
            self._clock.close()
            self._pace.close()
            await self.disconnect()
            self._hang_up()

    async def _next_event(self) -> Event | None:
        """The next event within the connection's deadlines; None once it is to close."""
        settings = self.settings
        streams = [self._stt_since] if self._stt is not None else []
        streams += [self._speaking.since] if self._speaking.since is not None else []
        if streams:
            deadline = min(streams) + settings.session_seconds
        else:
            deadline = self.peer.seen + settings.idle_seconds
        begun = None if self._counted else self._count_in
        try:
            return await read_event(
                self.reader, deadline - time.monotonic(), settings.frame_seconds,
                begun, self._clock,
            )  # fmt: skip
        except TimeoutError:
            late = (
                f"a stream took longer than {settings.session_seconds:g} s (session_seconds)"
                if streams
                else f"nothing received for {settings.idle_seconds:g} s (idle_seconds)"
            )
            await self._fail("timeout", late, logging.INFO)
        except FrameError as err:
            await self._fail("bad-event", str(err))
        return None

    async def write_event(self, event: Event) -> None:
        """Send an event; a peer that does not take it within write_seconds is let go."""
        seconds = self.settings.write_seconds
        try:
            async with asyncio.timeout(seconds):
                with self.peer.writing():
                    await super().write_event(event)
        except TimeoutError as err:
            raise NotReading(
                f"it read nothing for {seconds:g} s (write_seconds)"
            ) from err
        self.peer.saw()

    async def handle_event(self, event: Event) -> bool:
        """Dispatch one event; False closes the connection."""
        try:
            with self.peer.at_work():
                return await self._dispatch(event)
        except FieldError as err:
            return await self._fail("bad-event", str(err))
        except (SttError, AudioFormatError) as err:
            if isinstance(err, AudioFormatError) and self._waking.active:
                return await self._fail("wake-error", str(err))
            self.engines.stt.counters.errors += 1
            return await self._fail("stt-error", str(err))
        except TtsError as err:
            self.engines.tts.counters.errors += 1
            return await self._fail("tts-error", str(err))
        except WakeError as err:
            return await self._fail("wake-error", str(err))
        except QuestionRefused as err:
            return await self._fail(err.code, str(err))

    async def _fail(self, code: str, text: str, level: int = logging.WARNING) -> bool:
        """Tell the client; close, since HA's clients wait for a result otherwise."""
        _REFUSALS.log(
            level, code, "Refused a request from %s: %s", self.peer.name, text
        )
        self._drop_session()
        with contextlib.suppress(ConnectionError, RuntimeError):  # the client is gone
            await self.write_event(Error(text=text, code=code).event())
        return False

    def _gone(self, err: ConnectionError) -> None:
        """The peer cut the connection or stopped reading: a normal end, one line."""
        if isinstance(err, NotReading):
            _LOGGER.info("Dropped %s: %s", self.peer.name, err)
            self.writer.transport.abort()
        elif not isinstance(err, NotAdmitted):  # that one was told, and logged
            _LOGGER.debug("%s cut the connection: %r", self.peer.name, err)

    def _make_room(self, reason: str) -> None:
        """Closed for a newcomer at the cap: told why, and let go."""
        _LOGGER.debug("Closing %s: %s", self.peer.name, reason)
        transport = self.writer.transport
        if transport.get_write_buffer_size():  # it is not reading: nothing to tell
            transport.abort()
            return
        encoded = io.BytesIO()
        write_event(Error(text=reason, code="too-many-connections").event(), encoded)
        self.writer.write(encoded.getvalue())
        self._hang_up()

    def _hang_up(self) -> None:
        """Close once what is written is sent, or write_seconds from now at the latest."""
        transport = self.writer.transport
        if not transport.is_closing():
            self.writer.close()
            asyncio.get_running_loop().call_later(
                self.settings.write_seconds, transport.abort
            )

    def _count_in(self) -> None:
        """The peer has begun its first event: it takes a place under the cap."""
        self._counted = True
        if not self.engines.connections.admit(self.peer):
            raise NotAdmitted(self.peer.name)

    def _streaming(self) -> bool:
        return (
            self._stt is not None
            or self._waking.streaming
            or self._speaking.since is not None
            or self._agent.busy
        )

    async def _speaking_failed(self, err: Exception) -> None:
        if isinstance(err, TtsError):
            self.engines.tts.counters.errors += 1
            await self._fail("tts-error", str(err))
            self._hang_up()
        elif isinstance(err, ConnectionError):
            self._gone(err)
            self.writer.transport.abort()

    async def _dispatch(self, event: Event) -> bool:
        kind, fields = event.type, Fields.of(event)
        if kind == CHUNK and self._waking.active:
            # First: a satellite streams fifty of these a second.
            await self._waking.chunk(event.payload or b"", fields)
        elif Describe.is_type(kind):
            info = self.engines.info().event()
            info.data["wake"] = [wake_program().to_dict()]
            info.data[agent.INFO_FIELD] = agent.AGENT_VERSION
            await self.write_event(info)
        elif kind == agent.ASK:
            if not await self._agent.ask(fields.data):
                return False
        elif kind == agent.RESULTS:
            await self._agent.results(fields.data)
        elif kind == agent_proof.PROVE:
            await self._agent.prove(fields.data)
        elif Transcribe.is_type(kind):
            fields.name("name")
            fields.mapping("context")
            self._stream_transcript = fields.flag("stream")
            self._language = check_language(self.engines, fields.language())
        elif Detect.is_type(kind):
            self._waking.detect(fields)
        elif AudioStart.is_type(kind) and self._waking.active:
            await self._waking.start(self._audio_format(fields))
        elif AudioStop.is_type(kind) and self._waking.active:
            fields.optional_whole("timestamp")
            await self._waking.stop()
        elif AudioStart.is_type(kind):
            self._audio_start(self._audio_format(fields))
        elif AudioChunk.is_type(kind):
            if not self._turn_ended:
                await self._audio_chunk(fields, event.payload or b"")
                await self._end_turn_if_over()
        elif AudioStop.is_type(kind):
            fields.optional_whole("timestamp")
            if not self._turn_ended:
                await self._audio_stop()
            self._turn_ended = False
        elif Transcript.is_type(kind):
            fields.conversation()
            # Bounded as the agent's asks are: each question goes to xAI and is remembered.
            question = Transcript(
                text=fields.text("text", agent.MAX_TEXT),
                language=fields.language(),
                context=fields.mapping("context") or None,
            )
            await unless_hung_up(self.reader, self.writer, handle(
                self.engines, self.write_event, question, fields.flag("stream"),
                self._authority(),
            ))  # fmt: skip
        elif SynthesizeStart.is_type(kind):
            fields.mapping("context")
            await self._speaking.start(*fields.voice())
        elif SynthesizeChunk.is_type(kind):
            self._speaking.add(fields.text("text"))
        elif SynthesizeStop.is_type(kind):
            await unless_hung_up(self.reader, self.writer, self._speaking.stop())
        elif Synthesize.is_type(kind):
            fields.mapping("context")
            text, voice = fields.text("text"), fields.voice()
            await unless_hung_up(
                self.reader, self.writer, self._speaking.say(text, *voice)
            )
        else:
            _LOGGER.debug("Ignoring event %s", excerpt(kind))
            return True  # not a sign of life: the idle clock runs on
        self.peer.saw()
        return True

    @staticmethod
    def _audio_format(fields: Fields) -> PcmFormat:
        fields.optional_whole("timestamp")
        return PcmFormat(
            fields.whole("rate"), fields.whole("width"), fields.whole("channels")
        )

    def _audio_start(self, fmt: PcmFormat) -> None:
        self._turn_ended = False
        self._drop_session()
        self._stt = listen(self.engines, fmt, self._language, self._authority())
        self._stt_format = fmt
        self._stt_since = time.monotonic()

    async def _audio_chunk(self, fields: Fields, audio: bytes) -> None:
        if self._stt is None:
            raise SttError("audio-chunk received before audio-start")
        fmt = self._audio_format(fields)
        if fmt != self._stt_format:
            raise FieldError(
                "audio-chunk: rate, width and channels must be audio-start's "
                f"{_shape(self._stt_format)}, not {_shape(fmt)}"
            )
        # A stranger's speech is paced (1-sample chunks on many connections held the loop).
        seconds = len(audio) / fmt.rate / fmt.frame_bytes
        if (pause := self._pace.wait(seconds, speech=True)) > 0:
            await asyncio.sleep(pause)  # its reading paused meanwhile
        await self._stt.receive(audio)

    async def _end_turn_if_over(self) -> None:
        """Answer as soon as a live speaker has finished (HA then runs no VAD of its own)."""
        self._early.heard(self._stt)
        if self.settings.stt_endpointing and self._stt and self._stt.turn_over():
            self._turn_ended = True
            await self._audio_stop()

    async def _audio_stop(self) -> None:
        session, self._stt = self._stt, None
        if session is None:
            raise SttError("audio-stop received before audio-start")
        started = time.perf_counter()
        result = await unless_hung_up(self.reader, self.writer, session.finish())
        text = result.transcription.text
        early = self._early.said(text)
        if self._stream_transcript:
            await self.write_event(TranscriptStart(language=session.language).event())
            for segment in result.transcription.segments:
                await self.write_event(TranscriptChunk(text=segment + " ").event())
            await self.write_event(TranscriptStop().event())
        transcript = Transcript(text=text, language=session.language).event()
        transcript.data["alicia"] = {
            "passes": result.passes,
            "passes_after_stop": result.passes_after_stop,
            "speculative": result.speculative,
            "audio_seconds": round(result.audio_seconds, 3),
            "decode_seconds": round(result.transcription.decode_seconds, 4),
            "stop_to_result_seconds": round(time.perf_counter() - started, 4),
            "early_answer": early,
        }
        await self.write_event(transcript)
        self._language = None
        self._stream_transcript = False
        _LOGGER.debug("Transcript: %r %s", text, transcript.data["alicia"])

    def _drop_session(self) -> None:
        """The utterance under way is of no use any more (its early answer neither)."""
        if self._stt is not None:
            self._stt.abort()
            self._stt = None
        self._early.said("")

    def _authority(self) -> Authority:
        return wyoming_client(self.writer, self.settings.wyoming_trusted_clients)

    async def disconnect(self) -> None:
        """Drop what the connection held."""
        self.engines.connections.leave(self.peer)
        await self._agent.cancel()
        self._drop_session()
        self._waking.close()
        await self._speaking.cancel()


def _shape(fmt: PcmFormat | None) -> str:
    return f"({fmt.rate}, {fmt.width}, {fmt.channels})" if fmt else "(none)"
