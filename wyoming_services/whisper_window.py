"""faster-whisper's model, encoding less of its 30-second window when the audio is short."""

from __future__ import annotations

import threading
from typing import Any

import ctranslate2  # type: ignore[import-untyped]
from faster_whisper import WhisperModel
import numpy as np

# Feature frames per second of audio; the encoder gives one position per two frames.
FRAMES_PER_SECOND = 100
WHOLE_WINDOW = 3000


class WindowedWhisper(WhisperModel):  # type: ignore[misc]
    """A WhisperModel whose encoder runs on the audio padded to `shortest` frames, not 3000.

    Whisper pads every window to 30 s and the encoder's cost grows with it (its
    attention with the square), though a command fills a tenth. Cut short, the
    decoder sees a shorter window than it was trained on and loses some commands'
    first words ("Lock" heard as "Walk"). So by default the window is made whole
    again: the positions after the encoded part are the encoder's output for a
    silent window (computed once), which is what the padding there nearly is. The
    decoder then sees Whisper's own 30 s (docs/benchmarks.md, "The encoder's window").
    """

    shortest = WHOLE_WINDOW
    silence_after = True
    _silence: np.ndarray | None = None
    _silence_lock = threading.Lock()  # held only while a model makes its own, once

    def window(self, seconds: float, *, silence_after: bool = True) -> None:
        """Encode at least this much audio (padding included); the rest silence's, or cut."""
        self.shortest = round(seconds * FRAMES_PER_SECOND)
        self.silence_after = silence_after

    def encode(self, features: np.ndarray) -> Any:
        """Encode max(the audio, shortest) frames; the window's rest from the silent window's encoding."""
        if features.ndim != 2 or features.shape[-1] <= self.shortest:
            return super().encode(features)
        # faster-whisper pads the features with exact zeros; the log-Mel of real
        # audio, silence included, is never a whole column of zeros.
        filled = np.flatnonzero(features.any(axis=0))
        end = int(filled[-1]) + 1 if filled.size else 0
        frames = max(self.shortest, end)
        frames += frames % 2  # whole encoder positions
        encoded = super().encode(features[:, :frames])
        if not self.silence_after or frames >= features.shape[-1]:
            return encoded
        silence = self._silent_window(features.shape[0])
        head = np.asarray(encoded)
        whole = np.concatenate((head, silence[:, head.shape[1] :]), axis=1)
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(whole))

    def _silent_window(self, mels: int) -> np.ndarray:
        """The encoder's output for a whole window of padding, computed once."""
        with self._silence_lock:
            if self._silence is None:
                zeros = np.zeros((mels, WHOLE_WINDOW), np.float32)
                self._silence = np.array(super().encode(zeros))
            return self._silence
