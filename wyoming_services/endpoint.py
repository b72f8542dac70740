"""Where speech is, and where it ends, in a stream of 16 kHz audio."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math

import numpy as np
from pymicro_vad import MicroVad

from .audio import TARGET_RATE, Float32Array

FRAME = TARGET_RATE // 100  # both judges work on 10 ms frames


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """How speech and its end are recognised."""

    vad_threshold: float = 0.5
    # A frame is loud above this RMS (about -48 dBFS) ...
    energy_floor: float = 0.004
    # ... or, for speech that is quiet all through, above this fraction of the
    # loudest frame (-12 dB), but never below -60 dBFS (silence, dither) ...
    quiet_relative: float = 0.25
    quiet_floor: float = 0.001
    # ... and above this fraction of the loudest frame so far (-26 dB).
    energy_relative: float = 0.05
    # Audio kept after the last loud frame, for soft word endings.
    tail_seconds: float = 0.2
    # Quiet after the last loud frame before a speculative decode of the whole tail.
    hangover_seconds: float = 0.2
    # An earlier decode, of the audio so far, once nothing was loud for this long ...
    early_seconds: float = 0.1
    # ... and nothing but silence for this long: no frame above -40 dB of the
    # loudest, twice the quietest (the room's noise) or -60 dBFS. It answers only
    # if nothing but silence follows it either, so a soft ending is never lost.
    silent_seconds: float = 0.05
    silence_relative: float = 0.01
    noise_margin: float = 2.0


class SpeechTracker:
    """Judges every 10 ms frame once, in order, so the answer is the same however audio is chunked.

    pymicro-vad (the VAD HA's pipeline uses) decides whether there is speech at all;
    it reacts ~0.6 s late, so the end of the utterance comes from a lag-free energy
    envelope instead.
    """

    def __init__(self, config: EndpointConfig | None = None) -> None:
        """Start with no speech seen."""
        self.config = config or EndpointConfig()
        vad = MicroVad()
        # pymicro-vad 2 renamed Process10ms (1.x, what HA 2026.2 pins) to process_10ms.
        self._vad_10ms: Callable[[bytes], float] = getattr(
            vad, "process_10ms", None
        ) or getattr(vad, "Process10ms")  # noqa: B009 (not in 2.x's type stubs)
        self._pending = np.zeros(0, dtype=np.float32)
        self._peak_rms = 0.0
        self.samples_seen = 0
        self.speech_frames = 0
        self.loud_end = 0  # sample index just past the last loud frame
        self.sound_end = 0  # ... and past the last frame that was not silence
        self._floor_rms = math.inf  # the quietest frame: the room's noise

    @property
    def has_speech(self) -> bool:
        """Whether the VAD judged any frame to be speech (what speculation waits for)."""
        return self.speech_frames > 0

    @property
    def may_have_speech(self) -> bool:
        """Whether the audio is worth decoding: the VAD heard speech, or anything was loud.

        The VAD reacts ~0.6 s late: a short command with no silence after it ("stop")
        ends before it says speech. When in doubt, decode.
        """
        return self.has_speech or self.loud_end > 0

    def feed(self, samples: Float32Array) -> None:
        """Judge every whole 10 ms frame of new audio."""
        buf = (
            np.concatenate((self._pending, samples)) if self._pending.size else samples
        )
        whole = (buf.size // FRAME) * FRAME
        frames = np.clip(buf[:whole], -1.0, 1.0).reshape(-1, FRAME)
        pcm = (frames * 32767.0).astype("<i2")
        rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
        for index in range(frames.shape[0]):
            self.samples_seen += FRAME
            if self._vad_10ms(pcm[index].tobytes()) >= self.config.vad_threshold:
                self.speech_frames += 1
            level = float(rms[index])
            self._peak_rms = max(self._peak_rms, level)
            loud = self._loud_threshold()
            if level >= loud:
                self.loud_end = self.sound_end = self.samples_seen
            elif level >= min(loud, self._silence_threshold()):
                self.sound_end = self.samples_seen
            self._floor_rms = min(self._floor_rms, level)
        self._pending = buf[whole:].copy()

    def _silence_threshold(self) -> float:
        config = self.config
        return max(
            config.quiet_floor,
            config.silence_relative * self._peak_rms,
            config.noise_margin * self._floor_rms,
        )

    def _loud_threshold(self) -> float:
        config, peak = self.config, self._peak_rms
        floor = max(
            min(config.energy_floor, config.quiet_relative * peak), config.quiet_floor
        )
        return max(floor, config.energy_relative * peak)

    def tail_end(self) -> int:
        """Where the slice to decode ends once the whole tail has arrived."""
        return self.loud_end + _samples(self.config.tail_seconds)

    def utterance_end(self, total_samples: int) -> int:
        """Samples worth decoding: up to the last loud frame plus the tail (all, if none was loud)."""
        if self.loud_end == 0:
            return total_samples  # speech quieter than the energy floor: keep it all
        return min(total_samples, self.tail_end())

    def decode_is_due(self) -> bool:
        """Speech was heard and has paused: the whole tail has passed, or silence came early."""
        if not self.has_speech:
            return False
        config, seen = self.config, self.samples_seen
        quiet, silent = seen - self.loud_end, seen - self.sound_end
        return quiet >= _samples(config.hangover_seconds) or (
            quiet >= _samples(config.early_seconds)
            and silent >= _samples(config.silent_seconds)
        )

    def only_silence_after(self, end: int) -> bool:
        """Whether every frame judged after sample end was silence (so a decode to end heard it all)."""
        return self.sound_end <= end


def _samples(seconds: float) -> int:
    return math.ceil(seconds * TARGET_RATE)
