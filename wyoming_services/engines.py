"""What every connection and the bridge share: the speech and language engines, and the describe answer."""

from __future__ import annotations

import asyncio
from dataclasses import fields
import logging

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
    TtsVoiceSpeaker,
)

from . import __version__
from .budgets import Listening, Questions
from .connections import Connections
from .grok import EarlyAnswers, Grok
from .heap import give_back_freed
from .settings import Settings
from .speech_memory import DECODE_SIZE, TEXT_AT_ONCE, SpeechMemory
from .stt import SpeechToText
from .tts import TextToSpeech
from .tts_voice import VoiceInfo

_LOGGER = logging.getLogger(__name__)
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
        # Whisper's decodes and Piper's runs come and go in blocks of 20-100 MiB:
        # one budget for both bounds what they hold at once. Decodes side by side
        # (stt_workers) are the user's choice of memory for speed.
        memory = SpeechMemory(
            TEXT_AT_ONCE + DECODE_SIZE * max(settings.stt_workers - 1, 0)
        )
        self.stt = SpeechToText(settings, memory)
        self.tts = TextToSpeech(settings, memory)
        self.grok = Grok(settings)
        self.early = EarlyAnswers(self.grok, settings.grok_early_answers)
        self.connections = Connections(settings.max_connections)
        # Untrusted clients' questions, per requester across its connections.
        self.questions = Questions(settings.wyoming_untrusted_questions)
        # Audio heard on the event loop: untrusted clients' paced per requester.
        self.listening = Listening()

    async def load(self) -> None:
        """Load speech-to-text first (a voice request needs it first), then the rest.

        Loading both at once made each slower on a 2-core machine.
        """
        models = asyncio.create_task(self.grok.refresh_models())
        await self.stt.load()
        await self.tts.load()
        await self.stt.load_parallel()
        await models
        # What loading and warming freed: the rest holds the models, not their warm-up.
        await asyncio.to_thread(give_back_freed)

    async def close(self) -> None:
        """Release the engines' threads."""
        self.early.close()
        await asyncio.gather(self.stt.close(), self.tts.close(), self.grok.close())

    def _endpointing(self) -> dict[str, bool]:
        """Tell HA we end the turn ourselves (wyoming 1.8+ carries it; older not)."""
        if "requires_external_vad" not in {f.name for f in fields(AsrProgram)}:
            return {}
        return {"requires_external_vad": not self.settings.stt_endpointing}

    def info(self) -> Info:
        """The describe answer, built from what is installed (models may still be loading)."""
        asr = AsrProgram(
            # HA names its entities after the programs: "Alicia (Whisper)", not an id.
            name="Alicia (Whisper)",
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
            **self._endpointing(),
        )
        tts = TtsProgram(
            name="Alicia (Piper)",
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
            description=f"Answers from {self.grok.shown_url}",
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
        description=voice_title(voice.name),
        attribution=_ATTRIBUTION_PIPER,
        installed=True,
        version=None,
        languages=display_languages(voice.languages),
        speakers=[TtsVoiceSpeaker(name=s) for s in voice.speakers] or None,
    )


def voice_title(name: str) -> str:
    """What HA shows for a Piper voice: en_US-joe-medium -> "Joe (en_US, medium)"."""
    parts = name.split("-")
    if len(parts) != 3:
        return name
    language, speaker, quality = parts
    return f"{speaker.replace('_', ' ').title()} ({language}, {quality})"


def display_languages(languages: list[str]) -> list[str]:
    """Piper's codes (en_US) and their BCP 47 form (en-US), which HA shows by name.

    HA checks a pipeline's TTS language exactly against these: pipelines made with
    en_US keep working, and new ones get "English (United States)" (sorted first).
    """
    shown = {code.replace("_", "-") for code in languages} | set(languages)
    return sorted(shown)
