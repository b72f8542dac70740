"""faster-whisper's model, encoding less of its 30-second window when the audio is short."""

from __future__ import annotations

from typing import Any

from faster_whisper import WhisperModel
import numpy as np

# Feature frames per second of audio.
FRAMES_PER_SECOND = 100


class WindowedWhisper(WhisperModel):  # type: ignore[misc]
    """A WhisperModel whose encoder sees the audio padded to `shortest` frames, not 3000.

    Whisper pads every window to 30 s and the encoder's cost grows with it, though a
    command fills a tenth. Measured on tiny.en (docs/benchmarks.md, "The encoder's
    window"): 15 s windows decode about twice as fast, with fewer word errors, but
    lose some commands' first words ("Lock" heard as "Lut"); so 30 s stays the default.
    """

    shortest = 3000

    def window(self, seconds: float) -> None:
        """Encode at least this much audio (padding included); 30 s is Whisper's own."""
        self.shortest = round(seconds * FRAMES_PER_SECOND)

    def encode(self, features: np.ndarray) -> Any:
        """Encode, cutting the window's padding after max(the audio, shortest) frames."""
        if features.ndim == 2 and features.shape[-1] > self.shortest:
            # faster-whisper pads the features with exact zeros; the log-Mel of
            # real audio, silence included, is never a whole column of zeros.
            filled = np.flatnonzero(features.any(axis=0))
            end = int(filled[-1]) + 1 if filled.size else 0
            features = features[:, : max(self.shortest, end)]
        return super().encode(features)
