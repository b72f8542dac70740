"""One Wyoming client connection: describe, speech-to-text, text-to-speech and Grok's answers."""

from __future__ import annotations

import asyncio
import contextlib
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
from wyoming.event import Event
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled
from wyoming.info import Describe
from wyoming.server import AsyncEventHandler
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
)

from .audio import AudioFormatError, PcmFormat
from .authority import wyoming_client
from .engines import Engines
from .framing import FrameError, read_event
from .stt import SttError
from .stt_session import SttSession
from .tts import TtsError, chunk_pcm
from .voice import Speech, Unanswered, answer, listen

_LOGGER = logging.getLogger(__name__)
_AUDIO_CHUNK_BYTES = 8192


class AliciaEventHandler(AsyncEventHandler):
    """One client connection: describe, STT sessions and TTS requests."""

    def __init__(self, engines: Engines, *args: Any, **kwargs: Any) -> None:
        """Start idle."""
        super().__init__(*args, **kwargs)
        self.engines = engines
        self._language: str | None = None
        self._stream_transcript = False
        self._stt: SttSession | None = None
        self._stt_failed = False
        self._speech: Speech | None = None
        self._tts_started = False
        self._tts_task: asyncio.Task[None] | None = None
        self._tts_queue: asyncio.Queue[list[str] | None] | None = None
        engines.connections += 1

    async def run(self) -> None:
        """Events until the client leaves, with our framing limits, idle timeout and connection cap."""
        try:
            settings = self.engines.settings
            if self.engines.connections > settings.max_connections:
                await self._fail(
                    "too-many-connections",
                    f"more than {settings.max_connections} connections (max_connections)",
                )
                return
            while True:
                try:
                    event = await read_event(self.reader, settings.idle_seconds)
                except FrameError as err:
                    await self._fail("bad-event", str(err))
                    return
                if event is None or not await self.handle_event(event):
                    return
        finally:
            await self.disconnect()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        """Dispatch one event; False closes the connection."""
        try:
            return await self._dispatch(event)
        except (SttError, AudioFormatError) as err:
            self.engines.stt.counters.errors += 1
            return await self._fail("stt-error", str(err))
        except TtsError as err:
            self.engines.tts.counters.errors += 1
            return await self._fail("tts-error", str(err))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            # A known event with missing or mistyped fields (the library does not check).
            return await self._fail(
                "bad-event", f"malformed {event.type} event: {err!r}"
            )

    async def _fail(self, code: str, text: str) -> bool:
        """Tell the client; close, since HA's clients wait for a result otherwise."""
        _LOGGER.warning("Refused request: %s", text)
        if self._stt is not None:
            self._stt.abort()
            self._stt = None
        self._stt_failed = True
        with contextlib.suppress(ConnectionError, RuntimeError):  # the client is gone
            await self.write_event(Error(text=text, code=code).event())
        return False

    async def _dispatch(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(self.engines.info().event())
        elif Transcribe.is_type(event.type):
            transcribe = Transcribe.from_event(event)
            self._language = self.engines.stt.check_language(transcribe.language)
            self._stream_transcript = bool(event.data.get("stream"))
        elif AudioStart.is_type(event.type):
            await self._audio_start(AudioStart.from_event(event))
        elif AudioChunk.is_type(event.type):
            if self._stt is None:
                raise SttError("audio-chunk received before audio-start")
            self._stt.add_audio(AudioChunk.from_event(event).audio)
        elif AudioStop.is_type(event.type):
            await self._audio_stop()
        elif Transcript.is_type(event.type):
            await self._handle(
                Transcript.from_event(event), bool(event.data.get("stream"))
            )
        elif SynthesizeStart.is_type(event.type):
            await self._synthesize_start(SynthesizeStart.from_event(event))
        elif SynthesizeChunk.is_type(event.type):
            await self._synthesize_chunk(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(event.type):
            await self._synthesize_stop()
        elif Synthesize.is_type(event.type):
            # Inside a stream the client repeats the whole text for older servers.
            if self._speech is None:
                await self._synthesize(Synthesize.from_event(event))
        else:
            _LOGGER.debug("Ignoring event %s", event.type)
        return True

    async def _audio_start(self, start: AudioStart) -> None:
        if self._stt is not None:
            self._stt.abort()
        self._stt = listen(
            self.engines,
            PcmFormat(start.rate, start.width, start.channels),
            self._language,
        )

    async def _audio_stop(self) -> None:
        session, self._stt = self._stt, None
        if session is None:
            raise SttError("audio-stop received before audio-start")
        started = time.perf_counter()
        result = await session.finish()
        text = result.transcription.text
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
        }
        await self.write_event(transcript)
        self._language = None
        self._stream_transcript = False
        _LOGGER.debug("Transcript: %r %s", text, transcript.data["alicia"])

    async def _handle(self, transcript: Transcript, stream: bool) -> None:
        """Answer a question; stream events only for clients that ask (HA waits for handled)."""
        context = transcript.context or {}
        if stream:
            await self.write_event(HandledStart(context=context).event())

        async def chunk(delta: str) -> None:
            await self.write_event(HandledChunk(text=delta).event())

        try:
            text = await answer(
                self.engines, transcript.text, transcript.language,
                context.get("conversation_id"), chunk if stream else None,
                authority=wyoming_client(self.writer, self.engines.settings.wyoming_trusted_clients),
            )  # fmt: skip
        except Unanswered as unanswered:
            if stream:
                await self.write_event(HandledStop().event())
            await self.write_event(
                NotHandled(text=unanswered.spoken, context=context).event()
            )
            return
        if stream:
            await self.write_event(HandledStop().event())
        await self.write_event(Handled(text=text, context=context).event())

    async def _synthesize(self, request: Synthesize) -> None:
        voice = request.voice
        speech = Speech.start(
            self.engines,
            voice.name if voice else None,
            voice.speaker if voice else None,
        )
        self._tts_started = False
        await self._send_audio(speech, speech.sentences(request.text) + speech.rest())
        await self._end_audio(speech)

    async def _synthesize_start(self, start: SynthesizeStart) -> None:
        voice = start.voice
        if self._tts_task is not None:
            # A new stream replaces an unfinished one: its worker must not leak.
            self._tts_task.cancel()
        self._speech = speech = Speech.start(
            self.engines,
            voice.name if voice else None,
            voice.speaker if voice else None,
        )
        self._tts_started = False
        # Synthesis runs beside reading, so text keeps arriving while audio is made.
        self._tts_queue = asyncio.Queue()
        self._tts_task = asyncio.create_task(self._tts_worker(speech, self._tts_queue))

    async def _tts_worker(
        self, speech: Speech, queue: asyncio.Queue[list[str] | None]
    ) -> None:
        while (sentences := await queue.get()) is not None:
            await self._send_audio(speech, sentences)

    async def _synthesize_chunk(self, text: str) -> None:
        if self._speech is None or self._tts_queue is None:
            raise TtsError("synthesize-chunk received before synthesize-start")
        sentences = self._speech.sentences(text)
        if sentences:
            await self._tts_queue.put(sentences)

    async def _synthesize_stop(self) -> None:
        speech, queue, task = self._speech, self._tts_queue, self._tts_task
        if speech is None or queue is None or task is None:
            raise TtsError("synthesize-stop received before synthesize-start")
        await queue.put(speech.rest())
        await queue.put(None)
        self._speech = self._tts_queue = self._tts_task = None
        await task
        await self._end_audio(speech)
        await self.write_event(SynthesizeStopped().event())

    async def _send_audio(self, speech: Speech, sentences: list[str]) -> None:
        rate = speech.voice.sample_rate
        async for pcm in speech.audio(sentences):
            if not self._tts_started:
                await self.write_event(
                    AudioStart(rate=rate, width=2, channels=1).event()
                )
                self._tts_started = True
            for piece in chunk_pcm(pcm, _AUDIO_CHUNK_BYTES):
                await self.write_event(
                    AudioChunk(rate=rate, width=2, channels=1, audio=piece).event()
                )

    async def _end_audio(self, speech: Speech) -> None:
        if not self._tts_started:
            # Empty text: still a well-formed, empty audio stream.
            rate = speech.voice.sample_rate
            await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        await self.write_event(AudioStop().event())
        self._tts_started = False

    async def disconnect(self) -> None:
        """Drop what the connection held."""
        self.engines.connections -= 1
        if self._stt is not None:
            self._stt.abort()
        if self._tts_task is not None:
            self._tts_task.cancel()
