"""The Wyoming endpoint: one server, one handler per connection, shared engines."""

from __future__ import annotations

import asyncio
import importlib.metadata
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
from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    Describe,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
    TtsVoiceSpeaker,
)
from wyoming.server import AsyncEventHandler, AsyncServer, AsyncStdioServer
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
)

from . import __version__
from .audio import AudioFormatError, PcmFormat
from .bridge import Bridge
from .grok import Grok, GrokFailure
from .settings import Settings
from .stt import SpeechToText, SttError, SttSession
from .tts import TextStream, TextToSpeech, TtsError, VoiceInfo, chunk_pcm

_LOGGER = logging.getLogger(__name__)
_AUDIO_CHUNK_BYTES = 8192
_ATTRIBUTION_WHISPER = Attribution(
    name="OpenAI Whisper / SYSTRAN faster-whisper",
    url="https://github.com/SYSTRAN/faster-whisper",
)
_ATTRIBUTION_PIPER = Attribution(
    name="Open Home Foundation Piper", url="https://github.com/OHF-Voice/piper1-gpl"
)
_ATTRIBUTION_GROK = Attribution(name="xAI Grok", url="https://x.ai")


class Engines:
    """What all connections share: the engines and the describe answer."""

    def __init__(self, settings: Settings) -> None:
        """Create the engines; load() makes them ready."""
        self.settings = settings
        self.stt = SpeechToText(settings)
        self.tts = TextToSpeech(settings)
        self.grok = Grok(settings)
        self.connections = 0

    async def load(self) -> None:
        """Load speech-to-text first (a voice request needs it first), then the rest.

        Loading both at once made each slower on a 2-core machine.
        """
        models = asyncio.create_task(self.grok.refresh_models())
        await self.stt.load()
        await self.tts.load()
        await self.stt.load_parallel()
        await models

    async def close(self) -> None:
        """Release the engines' threads."""
        await asyncio.gather(self.stt.close(), self.tts.close(), self.grok.close())

    def info(self) -> Info:
        """The describe answer, built from what is installed (models may still be loading)."""
        asr = AsrProgram(
            name="alicia-stt",
            description="Alicia speech-to-text (faster-whisper)",
            attribution=_ATTRIBUTION_WHISPER,
            installed=self.stt.load_error is None,
            version=__version__,
            models=[
                AsrModel(
                    name=self.stt.model_name,
                    description=f"Whisper {self.stt.model_name}",
                    attribution=_ATTRIBUTION_WHISPER,
                    installed=self.stt.load_error is None,
                    languages=self.stt.languages,
                    version=None,
                )
            ],
            supports_transcript_streaming=True,
        )
        tts = TtsProgram(
            name="alicia-tts",
            description="Alicia text-to-speech (Piper)",
            attribution=_ATTRIBUTION_PIPER,
            installed=bool(self.tts.voices),
            version=__version__,
            voices=[_voice_info(v) for v in self.tts.voices.values()],
            supports_synthesize_streaming=True,
        )
        handle = HandleProgram(
            # HA names its conversation agent after the program.
            name="Alicia (Grok)",
            description=f"Answers from {self.grok.base_url}",
            attribution=_ATTRIBUTION_GROK,
            installed=True,
            version=__version__,
            models=[
                HandleModel(
                    name=self.grok.model or "default",
                    description=f"{self.settings.grok_personality_name} on "
                    f"{self.grok.model or 'the first listed model'}",
                    attribution=_ATTRIBUTION_GROK,
                    installed=True,
                    languages=self.grok.languages,
                    version=None,
                )
            ],
            supports_handled_streaming=True,
        )
        return Info(asr=[asr], tts=[tts], handle=[handle])


def _voice_info(voice: VoiceInfo) -> TtsVoice:
    return TtsVoice(
        name=voice.name,
        description=voice.name,
        attribution=_ATTRIBUTION_PIPER,
        installed=True,
        version=None,
        languages=voice.languages,
        speakers=[TtsVoiceSpeaker(name=s) for s in voice.speakers] or None,
    )


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
        self._tts_stream: TextStream | None = None
        self._tts_voice: tuple[VoiceInfo, int | None] | None = None
        self._tts_started = False
        self._tts_task: asyncio.Task[None] | None = None
        self._tts_queue: asyncio.Queue[list[str] | None] | None = None
        engines.connections += 1

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

    async def _fail(self, code: str, text: str) -> bool:
        """Tell the client; close, since HA's clients wait for a result otherwise."""
        _LOGGER.warning("Refused request: %s", text)
        if self._stt is not None:
            self._stt.abort()
            self._stt = None
        self._stt_failed = True
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
            if self._tts_stream is None:
                await self._synthesize(Synthesize.from_event(event))
        else:
            _LOGGER.debug("Ignoring event %s", event.type)
        return True

    async def _audio_start(self, start: AudioStart) -> None:
        if self._stt is not None:
            self._stt.abort()
        language = self._language or self.engines.stt.check_language(None)
        self._stt = SttSession(
            self.engines.stt,
            PcmFormat(start.rate, start.width, start.channels),
            language,
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
        conversation_id = context.get("conversation_id")
        parts: list[str] = []
        if stream:
            await self.write_event(HandledStart(context=context).event())
        try:
            async for delta in self.engines.grok.answer(
                transcript.text, transcript.language, conversation_id
            ):
                parts.append(delta)
                if stream:
                    await self.write_event(HandledChunk(text=delta).event())
        except GrokFailure as failure:
            _LOGGER.warning("Grok could not answer: %s", failure)
            if not failure.partial:
                if stream:
                    await self.write_event(HandledStop().event())
                await self.write_event(
                    NotHandled(text=failure.spoken, context=context).event()
                )
                return
            # Part of the answer came: say that much rather than nothing.
            parts = [failure.partial.rstrip() + " ..."]
        if stream:
            await self.write_event(HandledStop().event())
        await self.write_event(
            Handled(text="".join(parts).strip(), context=context).event()
        )

    async def _synthesize(self, request: Synthesize) -> None:
        self.engines.tts.counters.requests += 1
        voice = request.voice
        info, speaker = self.engines.tts.resolve(
            voice.name if voice else None, voice.speaker if voice else None
        )
        text_stream = TextStream(self.engines.settings.tts_max_chars)
        sentences = text_stream.add(request.text) + text_stream.finish()
        self._tts_started = False
        await self._send_audio(info, speaker, sentences)
        await self._end_audio(info)

    async def _synthesize_start(self, start: SynthesizeStart) -> None:
        self.engines.tts.counters.requests += 1
        voice = start.voice
        self._tts_voice = self.engines.tts.resolve(
            voice.name if voice else None, voice.speaker if voice else None
        )
        self._tts_stream = TextStream(self.engines.settings.tts_max_chars)
        self._tts_started = False
        # Synthesis runs beside reading, so text keeps arriving while audio is made.
        self._tts_queue = asyncio.Queue()
        self._tts_task = asyncio.create_task(
            self._tts_worker(self._tts_voice, self._tts_queue)
        )

    async def _tts_worker(
        self,
        voice: tuple[VoiceInfo, int | None],
        queue: asyncio.Queue[list[str] | None],
    ) -> None:
        while (sentences := await queue.get()) is not None:
            await self._send_audio(voice[0], voice[1], sentences)

    async def _synthesize_chunk(self, text: str) -> None:
        if self._tts_stream is None or self._tts_queue is None:
            raise TtsError("synthesize-chunk received before synthesize-start")
        sentences = self._tts_stream.add(text)
        if sentences:
            await self._tts_queue.put(sentences)

    async def _synthesize_stop(self) -> None:
        if (
            self._tts_stream is None
            or self._tts_queue is None
            or self._tts_task is None
        ):
            raise TtsError("synthesize-stop received before synthesize-start")
        assert self._tts_voice is not None
        await self._tts_queue.put(self._tts_stream.finish())
        await self._tts_queue.put(None)
        task, self._tts_task = self._tts_task, None
        self._tts_stream = None
        self._tts_queue = None
        await task
        await self._end_audio(self._tts_voice[0])
        await self.write_event(SynthesizeStopped().event())

    async def _send_audio(
        self, info: VoiceInfo, speaker: int | None, sentences: list[str]
    ) -> None:
        async for pcm in self.engines.tts.synthesize(info, speaker, sentences):
            if not self._tts_started:
                await self.write_event(
                    AudioStart(rate=info.sample_rate, width=2, channels=1).event()
                )
                self._tts_started = True
            for piece in chunk_pcm(pcm, _AUDIO_CHUNK_BYTES):
                await self.write_event(
                    AudioChunk(
                        rate=info.sample_rate, width=2, channels=1, audio=piece
                    ).event()
                )

    async def _end_audio(self, info: VoiceInfo) -> None:
        if not self._tts_started:
            # Empty text: still a well-formed, empty audio stream.
            await self.write_event(
                AudioStart(rate=info.sample_rate, width=2, channels=1).event()
            )
        await self.write_event(AudioStop().event())
        self._tts_started = False

    async def disconnect(self) -> None:
        """Drop what the connection held."""
        self.engines.connections -= 1
        if self._stt is not None:
            self._stt.abort()
        if self._tts_task is not None:
            self._tts_task.cancel()


async def serve(settings: Settings) -> None:
    """Run the server until cancelled."""
    engines = Engines(settings)
    server = AsyncServer.from_uri(settings.uri)
    loading = asyncio.create_task(engines.load())
    bridge_task: asyncio.Task[None] | None = None
    _LOGGER.info("Serving Wyoming on %s (models loading)", settings.uri)

    def factory(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> AliciaEventHandler:
        return AliciaEventHandler(engines, reader, writer)

    try:
        if isinstance(server, AsyncStdioServer):
            # One client on stdin/stdout; the server ends when it closes.
            await server.run(factory)
            return
        await server.start(factory)
        await loading
        if settings.mqtt_host:
            # After loading, so the registration names the models really in use.
            bridge_task = asyncio.create_task(Bridge(settings, engines).run())
        _LOGGER.info(
            "Ready (wyoming %s): %s",
            importlib.metadata.version("wyoming"),
            {k: v for k, v in settings.redacted().items() if k != "uri"},
        )
        await asyncio.Event().wait()
    finally:
        loading.cancel()
        if bridge_task is not None:
            bridge_task.cancel()
            await asyncio.gather(bridge_task, return_exceptions=True)
        await server.stop()
        await engines.close()
