"""Edits to spoken clips, as recordings nobody tuned arrive: no silence, any rate and channels."""

from __future__ import annotations

import numpy as np
import soxr


def trimmed(pcm: bytes) -> np.ndarray:
    """The speech only: from the first to the last sample above 2 % of the peak."""
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    loud = np.nonzero(np.abs(audio) > 0.02 * np.abs(audio).max())[0]
    return audio[loud[0] : loud[-1] + 1]


def as_format(
    audio: np.ndarray, rate: int, to_rate: int, channels: int, gain: float = 1.0
) -> bytes:
    """16-bit PCM at to_rate, the same samples in every channel, scaled by gain."""
    resampled = soxr.resample(audio, rate, to_rate) * gain
    pcm = (np.clip(resampled, -1, 1) * 32767).astype("<i2")
    return np.repeat(pcm, channels).tobytes()
