"""The one voice layer: listening, answering and speaking, for the Wyoming server and the bus bridge."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
import logging

from alicia_bus.agent import FailureCode
from alicia_bus.log_limit import LimitedLog
from alicia_bus.vocabulary import Vocabulary

from .audio import PcmFormat
from .authority import Authority
from .engines import Engines
from .grok import (
    Asked,
    EarlyAnswer,
    GrokFailure,
    HaTools,
    Relay,
    Toolbox,
    ToolCall,
    ToolDefinition,
    ToolError,
)
from .home_language import HomeNames
from .stt import SttError
from .stt_session import SessionResult, SttSession
from .tts import TextStream, TtsError, chunk_pcm
from .tts_voice import VoiceInfo
from .wake import WakeError, WakeStream, WakeWord, bundled, chosen

# The engines' types the Wyoming handler and the bridge use: they import them from
# here only (pyproject.toml's contract), so voice is the one way to the engines.
__all__ = [
    "CUT_OFF",
    "EarlyQuestion",
    "HaTools",
    "SessionResult",
    "Speech",
    "SttError",
    "SttSession",
    "ToolCall",
    "ToolDefinition",
    "ToolError",
    "Toolbox",
    "TtsError",
    "Unanswered",
    "WakeError",
    "WakeStream",
    "WakeWord",
    "answer",
    "bundled",
    "check_language",
    "chosen",
    "chunk_pcm",
    "learn_home",
    "listen",
    "speak",
    "transcribe",
]

_LOGGER = logging.getLogger(__name__)
# A failure per question (xAI down, 429s): one line a minute per kind of failure.
_FAILURES = LimitedLog(_LOGGER)
# What a cut-off answer ends with, so the listener hears that it was cut off.
CUT_OFF = " ..."


class Unanswered(Exception):
    """Nothing of an answer came; `spoken` says why, to be spoken to the user."""

    def __init__(self, spoken: str, code: FailureCode = "failed") -> None:
        """Keep the text for the user, and which failure it was."""
        super().__init__(spoken)
        self.spoken = spoken
        self.code: FailureCode = code


def check_language(engines: Engines, language: str | None) -> str:
    """The language to hear: the one asked for or the default; SttError if the model lacks it."""
    return engines.stt.check_language(language)


def learn_home(engines: Engines, vocabulary: Vocabulary) -> None:
    """Hear the home's names (HA's vocabulary) from now on."""
    engines.stt.set_vocabulary(vocabulary.phrases, HomeNames.of(vocabulary))


def listen(
    engines: Engines,
    fmt: PcmFormat,
    language: str | None,
    requester: Authority | None = None,
) -> SttSession:
    """A new utterance in the given audio format; audio goes in with receive().

    requester: who asks; decodes take fair turns between requesters.
    """
    language = check_language(engines, language)
    return SttSession(engines.stt, fmt, language, requester=requester)


async def transcribe(
    engines: Engines,
    fmt: PcmFormat,
    pcm: bytes,
    language: str | None,
    requester: Authority | None = None,
) -> SessionResult:
    """A whole recording at once (the bus's requests)."""
    session = listen(engines, fmt, language, requester)
    await session.receive(pcm)
    return await session.finish()


async def answer(
    engines: Engines,
    text: str,
    language: str | None,
    conversation_id: str | None,
    on_delta: Callable[[str], Awaitable[None]] | None = None,
    *,
    authority: Authority,
    toolbox: Toolbox | None = None,
    context: str = "",
) -> str:
    """Grok's answer for a requester with `authority`, each piece passed to on_delta.

    If the answer breaks off, what came is the answer, marked as cut off;
    if nothing came, Unanswered says what to tell the user. toolbox and context:
    a requester's own tools and prompt (Home Assistant's agent).
    """
    parts: list[str] = []
    deltas: AsyncGenerator[str] | None = None
    if isinstance(toolbox, Relay) and authority.may_act:
        # Home Assistant's agent: the answer may be under way already (grok/early.py).
        asked = Asked(language, context, tuple(toolbox.definitions))
        engines.early.remember(authority, asked, text)
        if early := engines.early.take(text, asked, conversation_id, authority):
            deltas = early.follow(conversation_id, toolbox)
    if deltas is None:
        deltas = engines.grok.answer(
            text, language, conversation_id,
            authority=authority, toolbox=toolbox, context=context,
        )  # fmt: skip
    try:
        async with aclosing(deltas):
            async for delta in deltas:
                parts.append(delta)
                if on_delta is not None:
                    await on_delta(delta)
    except GrokFailure as failure:
        _FAILURES.log(
            logging.WARNING, failure.code, "Grok could not answer: %s", failure
        )
        if not failure.partial:
            raise Unanswered(failure.spoken, failure.code) from failure
        return failure.partial.rstrip() + CUT_OFF
    return "".join(parts).strip()


class EarlyQuestion:
    """A connection's whole question, answered before the turn is over (grok/early.py)."""

    # Early answers for one utterance: a speaker who goes on and on is not asked for.
    MAX_PER_UTTERANCE = 2

    def __init__(self, engines: Engines, authority: Authority) -> None:
        """None heard yet."""
        self._engines = engines
        self._authority = authority
        self._early: EarlyAnswer | None = None
        self._started = 0

    def heard(self, session: SttSession | None) -> None:
        """Ask early when the words so far became a whole question."""
        text = session.question() if session is not None else None
        if text is None or (self._early is not None and self._early.text == text):
            return
        if self._early is not None:
            self._engines.early.drop(self._early)  # the speaker went on
            self._early = None
        if self._started < self.MAX_PER_UTTERANCE:
            self._started += 1
            self._early = self._engines.early.start(text, self._authority)

    def said(self, text: str) -> bool:
        """The transcript is out (empty: none will be); whether an early answer to it is under way."""
        early, self._early, self._started = self._early, None, 0
        if text.strip():
            self._engines.early.heard(self._authority, text)
        if early is not None and early.text != text.strip():
            self._engines.early.drop(early)
            return False
        return early is not None


@dataclass(slots=True)
class Speech:
    """Text to speak, arriving whole or in pieces, in one voice."""

    engines: Engines
    voice: VoiceInfo
    speaker: int | None
    text: TextStream
    # Something of it was spoken: the next sentence comes after a pause.
    spoken: bool = False
    # Asked by a trusted client (or the bus, or the server): its runs go first.
    trusted: bool = True

    @classmethod
    def start(
        cls,
        engines: Engines,
        voice: str | None = None,
        speaker: str | None = None,
        *,
        trusted: bool = True,
    ) -> Speech:
        """The voice asked for (TtsError if unknown), with an empty text stream."""
        info, speaker_id = engines.tts.resolve(voice, speaker)
        engines.tts.counters.requests += 1
        text = TextStream(engines.settings.tts_max_chars)
        return cls(engines, info, speaker_id, text, trusted=trusted)

    def sentences(self, text: str) -> list[str]:
        """The sentences this piece of text completes."""
        return self.text.add(text)

    def rest(self) -> list[str]:
        """What is left once no more text will come."""
        return self.text.finish()

    def audio(self, sentences: list[str]) -> AsyncGenerator[bytes]:
        """PCM (16-bit mono at voice.sample_rate), sentence by sentence; pauses between, none after."""
        after_speech, self.spoken = self.spoken, self.spoken or bool(sentences)
        return self.engines.tts.synthesize(
            self.voice, self.speaker, sentences, after_speech=after_speech,
            trusted=self.trusted,
        )  # fmt: skip


async def speak(
    engines: Engines, text: str, voice: str | None = None
) -> tuple[int, bytes]:
    """A whole text as (sample rate, 16-bit mono PCM)."""
    speech = Speech.start(engines, voice)
    sentences = speech.sentences(text) + speech.rest()
    async with aclosing(speech.audio(sentences)) as audio:
        pcm = b"".join([chunk async for chunk in audio])
    return speech.voice.sample_rate, pcm
