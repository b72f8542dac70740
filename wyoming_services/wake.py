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
    """One audio stream's wake-word detection (16 kHz, 16-bit mono PCM)."""

    def __init__(self, words: Sequence[WakeWord]) -> None:
        """Load one streaming model per word: a model keeps the stream's state."""
        self._features = MicroWakeWordFeatures()
        self._models = [
            (word, MicroWakeWord.from_config(word.config)) for word in words
        ]
        self._quiet_until = {word.id: 0.0 for word in words}
        self._samples = 0

    @property
    def seconds(self) -> float:
        """How much audio the detector has heard."""
        return self._samples / RATE

    def feed(self, pcm: bytes) -> str | None:
        """Hear more audio (whole 16-bit samples); the id of a wake word said in it, if any."""
        self._samples += len(pcm) // WIDTH
        heard = None
        for features in self._features.process_streaming(pcm):
            for word, model in self._models:
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
        for _, model in self._models:
            model.close()
        self._models = []


class WakeStream:
    """A client's audio stream in any PCM format, heard for its wake words."""

    def __init__(self, words: Sequence[WakeWord], fmt: PcmFormat) -> None:
        """Convert to the models' 16 kHz mono only when the client sends another format."""
        self.words = tuple(words)
        self.format = fmt
        self.detector = Detector(words)
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

    def close(self) -> None:
        """Free the detector."""
        self.detector.close()
