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
from .audio import AudioFormatError
from .authority import peer_name, wyoming_client
from .connections import NotAdmitted, Peer
from .engines import Engines
from .event_fields import FieldError, Fields
from .framing import FrameError, ReadClock, read_event, unless_hung_up
from .handle_turn import QuestionRefused, handle
from .keys import AgentProofs
from .listening_turn import Listening, audio_format
from .speaking import Speaking
from .voice import (
    SttError,
    TtsError,
    WakeError,
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
        public: bool = False,
        lan: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """Start idle; proofs show HA's agent this is the voice server it approved.

        public, lan: where the connection came, as authority.wyoming_client takes them.
        """
        super().__init__(*args, **kwargs)
        self.engines = engines
        self.settings = engines.settings
        self.authority = authority = wyoming_client(
            self.writer, self.settings.wyoming_trusted_clients, public=public, lan=lan
        )
        self.peer = Peer(
            peer_name(self.writer), self._make_room, self._streaming,
            address=authority.who, trusted=authority.may_act,
        )  # fmt: skip
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
        self._listening = Listening(
            engines, self.write_event, self._pace, authority, (self.reader, self.writer)
        )

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
        streams = [self._listening.since] if self._listening.since is not None else []
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
        self._listening.drop()
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

    def distrusted(self) -> bool:
        """Home Assistant's port turned out published: a relay's connection is let go; whether it was open."""
        if self.writer.transport.is_closing():
            return False
        self._let_go(
            "not-allowed",
            "closed: Home Assistant's port is published on the network, so this "
            "address may be anyone's",
        )
        return True

    def _make_room(self, reason: str) -> None:
        """Closed for a newcomer at the cap: told why, and let go."""
        self._let_go("too-many-connections", reason)

    def _let_go(self, code: str, reason: str) -> None:
        _LOGGER.debug("Closing %s: %s", self.peer.name, reason)
        transport = self.writer.transport
        if transport.get_write_buffer_size():  # it is not reading: nothing to tell
            transport.abort()
            return
        encoded = io.BytesIO()
        write_event(Error(text=reason, code=code).event(), encoded)
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
            self._listening.since is not None
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
            if not await self._agent.results(fields.data):
                return False
        elif kind == agent_proof.PROVE:
            if not await self._agent.prove(fields.data):
                return False
        elif Transcribe.is_type(kind):
            self._listening.transcribe(fields)
        elif Detect.is_type(kind):
            self._waking.detect(fields)
        elif AudioStart.is_type(kind) and self._waking.active:
            await self._waking.start(audio_format(fields))
        elif AudioStop.is_type(kind) and self._waking.active:
            fields.optional_whole("timestamp")
            await self._waking.stop()
        elif AudioStart.is_type(kind):
            self._listening.start(audio_format(fields))
        elif AudioChunk.is_type(kind):
            await self._listening.chunk(fields, event.payload or b"")
        elif AudioStop.is_type(kind):
            await self._listening.stop(fields)
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
                self.authority,
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

    async def disconnect(self) -> None:
        """Drop what the connection held."""
        self.engines.connections.leave(self.peer)
        await self._agent.cancel()
        self._listening.drop()
        self._waking.close()
        await self._speaking.cancel()
