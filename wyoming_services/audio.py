"""PCM helpers: any rate, width and channel count to 16 kHz mono, in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

TARGET_RATE = 16_000
Float32Array = npt.NDArray[np.float32]

_SCALE = {1: 128.0, 2: 32768.0, 4: 2147483648.0}
_DTYPE: dict[int, np.dtype[Any]] = {
    1: np.dtype(np.uint8),
    2: np.dtype("<i2"),
    4: np.dtype("<i4"),
}


# A connection's audio may run ahead of the clock by this much (a satellite's
# buffered start, a network hiccup caught up), then come at most PACE_FACTOR times
# as fast as it plays. Satellites stream in real time; audio heard on the event
# loop faster than that (a stranger's 1-s chunks back to back) held every other
# connection: 30 of them took describe from 8 ms to 1.4 s.
PACE_BURST_SECONDS = 2.0
PACE_FACTOR = 1.5
# A stream is live while it sent audio this recently: a live one widens its
# requester's pace (budgets), a trusted one holds strangers' decodes (decode_queue);
# one stuck mid-utterance, or idle beside another, counts no longer.
STREAMING_SECONDS = 2.0


class Pace:
    """One connection's audio against the clock: a burst, then PACE_FACTOR x real time.

    What comes faster waits (its reading pauses): it is heard no sooner than the
    rule allows, never refused, so a stream late through no fault of its own loses
    nothing.
    """

    def __init__(
        self,
        burst: float = PACE_BURST_SECONDS,
        factor: float = PACE_FACTOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A full burst allowed at once."""
        self._burst = burst
        self._factor = factor
        self._clock = clock
        self._ahead = burst  # seconds of audio that may come now
        self._last = clock()

    def wait(self, seconds: float) -> float:
        """Count seconds of audio arriving now; how long to wait before hearing it."""
        now = self._clock()
        elapsed, self._last = now - self._last, now
        self._ahead = min(self._burst, self._ahead + elapsed * self._factor) - seconds
        return max(0.0, -self._ahead / self._factor)


class AudioFormatError(ValueError):
    """Audio that cannot be decoded as the format it claims."""


@dataclass(frozen=True, slots=True)
class PcmFormat:
    """Rate, sample width in bytes and channel count of raw PCM."""

    rate: int
    width: int
    channels: int

    def __post_init__(self) -> None:
        """Refuse formats no converter here understands."""
        if self.width not in _DTYPE:
            raise AudioFormatError(
                f"unsupported sample width {self.width} (use 1, 2 or 4)"
            )
        if not 1 <= self.channels <= 32:
            raise AudioFormatError(f"unsupported channel count {self.channels}")
        if not 1000 <= self.rate <= 384_000:
            raise AudioFormatError(f"unsupported sample rate {self.rate}")

    @property
    def frame_bytes(self) -> int:
        """Bytes per frame (one sample of every channel)."""
        return self.width * self.channels


def check_frames(data: bytes, fmt: PcmFormat) -> None:
    """Raise AudioFormatError unless data is whole frames of fmt."""
    if len(data) % fmt.frame_bytes:
        raise AudioFormatError(
            f"{len(data)} bytes is not a whole number of {fmt.width}-byte "
            f"{fmt.channels}-channel frames"
        )


def pcm_to_float(data: bytes, fmt: PcmFormat) -> Float32Array:
    """Decode interleaved PCM to mono float32 in [-1, 1]."""
    check_frames(data, fmt)
    samples: Float32Array = np.frombuffer(data, dtype=_DTYPE[fmt.width]).astype(
        np.float32
    )
    if fmt.width == 1:
        samples -= 128.0
    samples /= _SCALE[fmt.width]
    if fmt.channels > 1:
        samples = samples.reshape(-1, fmt.channels).mean(axis=1, dtype=np.float32)
    return samples


def float_to_pcm16(samples: Float32Array) -> bytes:
    """Encode float32 samples as little-endian 16-bit PCM, clipping."""
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


class Converter:
    """Streams PCM of one format into 16 kHz mono float32 (soxr, high quality)."""

    def __init__(self, fmt: PcmFormat) -> None:
        """Prepare a resampler only when the rate differs."""
        self.format = fmt
        self._stream = (
            None
            if fmt.rate == TARGET_RATE
            else soxr.ResampleStream(
                fmt.rate, TARGET_RATE, 1, dtype="float32", quality="HQ"
            )
        )

    def convert(self, data: bytes, last: bool = False) -> Float32Array:
        """Convert one chunk; pass last=True once at the end to flush the resampler."""
        samples = pcm_to_float(data, self.format)
        if self._stream is None:
            return samples
        out: Float32Array = self._stream.resample_chunk(samples, last=last)
        return out


def chunk_pcm(pcm: bytes, bytes_per_chunk: int) -> Iterator[bytes]:
    """Cut PCM into event-sized chunks."""
    for start in range(0, len(pcm), bytes_per_chunk):
        yield pcm[start : start + bytes_per_chunk]
