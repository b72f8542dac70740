"""Short runs already spoken for the home, kept to be said again at once ("Turned on the light")."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .audio import Float32Array

# Home Assistant's answers to commands are a few short sentences said again and
# again, and its streamed TTS requests are never cached by HA. Longer runs (an
# agent's answers) seldom come back and would only push those out.
MOST_PHONEMES = 48
# About 45 s of audio at 22,050 Hz: some 30 answers of 1.5 s.
MOST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Said:
    """What makes a run's audio: the voice, its speaker and the phonemes."""

    voice: str
    speaker: int | None
    phonemes: tuple[str, ...]


class SpokenCache:
    """The audio of the most recent short runs, within MOST_BYTES (least recent out first)."""

    def __init__(self, most_bytes: int = MOST_BYTES) -> None:
        """most_bytes: the audio kept at most, in bytes of float32 samples."""
        self.most_bytes = most_bytes
        self.bytes = 0
        self.hits = 0
        self._kept: OrderedDict[Said, Float32Array] = OrderedDict()

    @staticmethod
    def key(voice: str, speaker: int | None, run: list[str]) -> Said | None:
        """The key of a run worth keeping; None for a long one."""
        if len(run) > MOST_PHONEMES:
            return None
        return Said(voice, speaker, tuple(run))

    def get(self, said: Said | None) -> Float32Array | None:
        """The audio kept for said, if any (it is then the most recent)."""
        if said is None or (audio := self._kept.get(said)) is None:
            return None
        self._kept.move_to_end(said)
        self.hits += 1
        return audio

    def put(self, said: Said | None, audio: Float32Array) -> None:
        """Keep audio for said, dropping the least recent runs past the bound."""
        if said is None or audio.nbytes > self.most_bytes or said in self._kept:
            return
        kept = np.array(audio, dtype=np.float32)  # its own copy, never written again
        kept.flags.writeable = False
        self._kept[said] = kept
        self.bytes += kept.nbytes
        while self.bytes > self.most_bytes:
            _, dropped = self._kept.popitem(last=False)
            self.bytes -= dropped.nbytes

    def __len__(self) -> int:
        """Runs kept."""
        return len(self._kept)
