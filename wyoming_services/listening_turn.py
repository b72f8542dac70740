"""A client's speech-to-text: `transcribe`, then its audio, answered with a `transcript`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
import time

from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.event import Event

from .audio import PcmFormat
from .authority import Authority
from .budgets import AudioPace
from .engines import Engines
from .event_fields import FieldError, Fields
from .framing import unless_hung_up
from .voice import EarlyQuestion, SttError, SttSession, check_language, listen

_LOGGER = logging.getLogger(__name__)


def audio_format(fields: Fields) -> PcmFormat:
    """The audio's shape from an audio-start or audio-chunk."""
    fields.optional_whole("timestamp")
    return PcmFormat(
        fields.whole("rate"), fields.whole("width"), fields.whole("channels")
    )


class Listening:
    """One connection's utterance under way, its transcribe options and its early question."""

    def __init__(
        self,
        engines: Engines,
        write_event: Callable[[Event], Awaitable[None]],
        pace: AudioPace,
        authority: Authority,
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        """Nothing heard yet; `streams` tell a decode the client hung up."""
        self.engines = engines
        self._write_event = write_event
        self._pace = pace
        self._authority = authority
        self._streams = streams
        self._language: str | None = None
        self._stream_transcript = False
        self._stt: SttSession | None = None
        self._format: PcmFormat | None = None
        # The server ended the speaker's turn itself: the rest of the stream is quiet.
        self._turn_ended = False
        self._early = EarlyQuestion(engines, authority)
        # When the utterance under way began (None: none is).
        self.since: float | None = None

    def transcribe(self, fields: Fields) -> None:
        """A `transcribe`: the options of the next utterance."""
        fields.name("name")
        fields.mapping("context")
        self._stream_transcript = fields.flag("stream")
        self._language = check_language(self.engines, fields.language())

    def start(self, fmt: PcmFormat) -> None:
        """An `audio-start`: a new utterance (one under way is dropped)."""
        self._turn_ended = False
        self.drop()
        self._stt = listen(self.engines, fmt, self._language, self._authority)
        self._format = fmt
        self.since = time.monotonic()

    async def chunk(self, fields: Fields, audio: bytes) -> None:
        """An `audio-chunk`: heard, and the turn ended here if the speaker has finished."""
        if self._turn_ended:
            return
        if self._stt is None:
            raise SttError("audio-chunk received before audio-start")
        fmt = audio_format(fields)
        if fmt != self._format:
            raise FieldError(
                "audio-chunk: rate, width and channels must be audio-start's "
                f"{_shape(self._format)}, not {_shape(fmt)}"
            )
        # A stranger's speech is paced (1-sample chunks on many connections held the loop).
        seconds = len(audio) / fmt.rate / fmt.frame_bytes
        if (pause := self._pace.wait(seconds, speech=True)) > 0:
            await asyncio.sleep(pause)  # its reading paused meanwhile
        await self._stt.receive(audio)
        # Answer as soon as a live speaker has finished (HA then runs no VAD of its own).
        self._early.heard(self._stt)
        if self.engines.settings.stt_endpointing and self._stt.turn_over():
            self._turn_ended = True
            await self._transcript()

    async def stop(self, fields: Fields) -> None:
        """An `audio-stop`: the transcript, unless the turn was ended already."""
        fields.optional_whole("timestamp")
        if not self._turn_ended:
            await self._transcript()
        self._turn_ended = False

    async def _transcript(self) -> None:
        session, self._stt = self._stt, None
        self.since = None
        if session is None:
            raise SttError("audio-stop received before audio-start")
        started = time.perf_counter()
        reader, writer = self._streams
        result = await unless_hung_up(reader, writer, session.finish())
        text = result.transcription.text
        early = self._early.said(text)
        if self._stream_transcript:
            await self._write_event(TranscriptStart(language=session.language).event())
            for segment in result.transcription.segments:
                await self._write_event(TranscriptChunk(text=segment + " ").event())
            await self._write_event(TranscriptStop().event())
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
        await self._write_event(transcript)
        self._language = None
        self._stream_transcript = False
        _LOGGER.debug("Transcript: %r %s", text, transcript.data["alicia"])

    def drop(self) -> None:
        """The utterance under way is of no use any more (its early answer neither)."""
        if self._stt is not None:
            self._stt.abort()
            self._stt = None
        self.since = None
        self._early.said("")


def _shape(fmt: PcmFormat | None) -> str:
    return f"({fmt.rate}, {fmt.width}, {fmt.channels})" if fmt else "(none)"
