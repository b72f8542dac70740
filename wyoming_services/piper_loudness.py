"""One gain per Piper voice, so a run's audio can be sent window by window as it is made."""

from __future__ import annotations

from typing import Any

import numpy as np

from .audio import Float32Array
from .tts_text import known_phonemes

# Piper's own synthesize scales each sentence to its peak, which needs the whole
# sentence before its first sample can go. A voice's raw peaks sit within a few dB
# of each other (en_US-joe-medium: 0.32-0.73 over 107 sentences, 4 dB from p10 to
# p90), so one gain per voice and speaker, measured on these sentences with Piper's
# noise off (the same gain every start), makes its speech as loud from sentence to
# sentence and lets each window go as it is made. Two sentences: a start pays ~0.2 s.
CALIBRATION = ("Hello.", "Shall I turn the heating up to twenty one degrees?")
# The calibration's loudest sentence peaks here, leaving room for louder ones
# (0.73 against 0.62 for the calibration's loudest, on the 107 sentences).
CALIBRATED_PEAK = 0.85
# Above this a sample is bent smoothly towards full scale, never past it.
KNEE = 0.9
# A voice that says (almost) nothing on the calibration is not made louder than this.
MAX_GAIN = 10.0


def voice_gain(voice: Any, speaker_id: int | None = None) -> float:
    """The gain that brings the voice's calibration sentences to CALIBRATED_PEAK."""
    from piper import SynthesisConfig  # noqa: PLC0415

    quiet = SynthesisConfig(speaker_id=speaker_id, noise_scale=0.0, noise_w_scale=0.0)
    peak = 0.0
    for text in CALIBRATION:
        phonemized = voice.phonemize(text)
        for phonemes in known_phonemes(phonemized, voice.config.phoneme_id_map):
            if phonemes:
                made = voice.phoneme_ids_to_audio(
                    voice.phonemes_to_ids(phonemes), quiet
                )
                audio = raw(made)
                peak = max(peak, float(np.max(np.abs(audio))) if audio.size else 0.0)
    return min(CALIBRATED_PEAK / peak, MAX_GAIN) if peak > 0 else 1.0


def raw(audio: Any) -> Float32Array:
    """Piper's output (an array, or a tuple whose first item is one) as flat float32."""
    samples: Float32Array = np.asarray(
        audio[0] if isinstance(audio, tuple) else audio, np.float32
    ).reshape(-1)
    return samples


def scaled(audio: Any, gain: float) -> Float32Array:
    """Audio at the voice's gain; samples over KNEE bent softly below full scale."""
    samples = raw(audio) * np.float32(gain)
    loud = np.abs(samples) > KNEE
    if loud.any():
        over = np.abs(samples[loud]) - KNEE
        room = 1.0 - KNEE
        bent = KNEE + room * np.tanh(over / room)
        samples[loud] = np.copysign(bent, samples[loud]).astype(np.float32)
    return samples


class VoiceGains:
    """Each voice's gain by speaker, measured on first use (in a Piper thread)."""

    def __init__(self) -> None:
        """None measured yet."""
        # One per speaker of a loaded voice: bounded by the voices' speakers.
        self._gains: dict[tuple[str, int | None], float] = {}

    def of(self, name: str, voice: Any, speaker_id: int | None) -> float:
        """The gain of voice (called name) for the speaker."""
        gain = self._gains.get((name, speaker_id))
        if gain is None:
            gain = self._gains[name, speaker_id] = voice_gain(voice, speaker_id)
        return gain
