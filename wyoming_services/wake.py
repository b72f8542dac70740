"""Wake words on the server: microWakeWord's bundled models, one detector per audio stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
import json
from pathlib import Path
import statistics
from types import SimpleNamespace

import pymicro_wakeword
from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, microwakeword

from .audio import Converter, PcmFormat, float_to_pcm16

# The models' own input: 16 kHz, 16-bit mono.
RATE = 16000
WIDTH = 2
# After a detection the same word is not reported again for this long: one
# "Okay Nabu" spans several windows over the cut-off.
REFRACTORY_SECONDS = 2.0
# The library averages a model's last few probabilities with statistics.mean, which
# sums them as exact fractions: 14 µs a call, every 30 ms per word, a tenth of what
# hearing a chunk costs. fmean gives the same float for these few values in 0.3 µs.
vars(microwakeword)["statistics"] = SimpleNamespace(mean=statistics.fmean)


class WakeError(ValueError):
    """A client asked for a wake word this server does not have."""


@dataclass(frozen=True, slots=True)
class WakeWord:
    """One wake word the server offers: its id, what to say, the languages it knows."""

    id: str
    phrase: str
    languages: tuple[str, ...]
    config: Path


@cache
def bundled() -> tuple[WakeWord, ...]:
    """The wake words that ship inside pymicro-wakeword (nothing is downloaded)."""
    folder = Path(pymicro_wakeword.__file__).parent / "models"
    words = []
    for config in sorted(folder.glob("*.json")):
        document = json.loads(config.read_text(encoding="utf-8"))
        if document.get("type") != "micro":
            continue
        words.append(
            WakeWord(
                id=Path(document["model"]).stem,
                phrase=str(document["wake_word"]),
                languages=tuple(document.get("trained_languages", ())),
                config=config,
            )
        )
    return tuple(words)


def chosen(names: Sequence[str] | None) -> tuple[WakeWord, ...]:
    """The wake words a client asked for (all of them when it named none)."""
    offered = {word.id: word for word in bundled()}
    if not names:
        return tuple(offered.values())
    unknown = [name for name in names if name not in offered]
    if unknown:
        raise WakeError(
            f"unknown wake word {unknown[0]!r}; offered: {', '.join(offered)}"
        )
    return tuple(offered[name] for name in dict.fromkeys(names))


class Detector:
    """A connection's wake-word detection (16 kHz, 16-bit mono PCM): each word's model loaded once."""

    def __init__(self, words: Sequence[WakeWord]) -> None:
        """Listening for words, as a new stream."""
        self._loaded: dict[str, MicroWakeWord] = {}
        self._fed: set[str] = set()  # models that heard audio since their load or reset
        self.listen(words)

    def listen(self, words: Sequence[WakeWord]) -> None:
        """A new stream, for words: nothing it hears before is kept."""
        self._features = MicroWakeWordFeatures()
        self._models: list[tuple[WakeWord, MicroWakeWord]] = []
        for word in words:
            model = self._loaded.get(word.id)
            if model is None:
                model = self._loaded[word.id] = MicroWakeWord.from_config(word.config)
            elif word.id in self._fed:
                # A model keeps the stream's state inside its interpreter (resource
                # variables, no call resets them): the library makes a new one.
                model.reset()
                self._fed.discard(word.id)
            self._models.append((word, model))
        self._quiet_until = {word.id: 0.0 for word in words}
        self._samples = 0

    @property
    def seconds(self) -> float:
        """How much audio the detector has heard in this stream."""
        return self._samples / RATE

    def feed(self, pcm: bytes) -> str | None:
        """Hear more audio (whole 16-bit samples); the id of a wake word said in it, if any."""
        self._samples += len(pcm) // WIDTH
        heard = None
        for features in self._features.process_streaming(pcm):
            for word, model in self._models:
                self._fed.add(word.id)
                probability = model.process_streaming_prob(features)
                if (
                    probability is not None
                    and probability > model.probability_cutoff
                    and self.seconds >= self._quiet_until[word.id]
                    and heard is None
                ):
                    heard = word.id
                    self._quiet_until[word.id] = self.seconds + REFRACTORY_SECONDS
        return heard

    def close(self) -> None:
        """Free the models' interpreters."""
        for model in self._loaded.values():
            model.close()
        self._loaded = {}
        self._models = []


class WakeStream:
    """A client's audio stream in any PCM format, heard for its wake words."""

    def __init__(
        self,
        words: Sequence[WakeWord],
        fmt: PcmFormat,
        detector: Detector | None = None,
    ) -> None:
        """Heard by detector (listening afresh) or a new one; converted only from another format."""
        self.words = tuple(words)
        self.format = fmt
        if detector is None:
            detector = Detector(words)
        else:
            detector.listen(words)
        self.detector = detector
        native = (fmt.rate, fmt.width, fmt.channels) == (RATE, WIDTH, 1)
        self._converter = None if native else Converter(fmt)
        self.detections = 0

    def feed(self, audio: bytes) -> str | None:
        """Hear a chunk; the id of a wake word said in it, if any."""
        if self._converter is not None:
            audio = float_to_pcm16(self._converter.convert(audio))
        word = self.detector.feed(audio)
        self.detections += word is not None
        return word

    def next(self, words: Sequence[WakeWord], fmt: PcmFormat) -> WakeStream:
        """The connection's next stream, heard by this one's models (reset, not loaded again)."""
        return WakeStream(words, fmt, self.detector)

    def close(self) -> None:
        """Free the models (the connection closed)."""
        self.detector.close()
