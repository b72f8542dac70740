"""One gain per Piper voice, so a run's audio can be sent window by window as it is made."""

from __future__ import annotations

from typing import Any

import numpy as np

from .audio import Float32Array

# Piper's own synthesize scales each sentence to its peak, which needs the whole
# sentence before its first sample can go. A voice's raw peaks sit within a few dB
# of each other (en_US-joe-medium: 0.32-0.73 over 107 sentences, 4 dB from p10 to
# p90), so one gain per voice, measured on these sentences when it loads, makes its
# speech as loud from sentence to sentence and lets each window go as it is made.
CALIBRATION = (
    "Hello.",
    "The kitchen light is on, and the front door is locked.",
    "Shall I turn the heating up to twenty one degrees?",
    "Done!",
    "Sorry, I didn't understand that.",
)
# The calibration's loudest sentence peaks here, leaving room for louder ones
# (0.73 against 0.57-0.62 for the calibration's loudest, on the 107 sentences).
CALIBRATED_PEAK = 0.85
# Above this a sample is bent smoothly towards full scale, never past it.
KNEE = 0.9
# A voice that says nothing on the calibration keeps Piper's scale.
_SILENT = 1e-4


def voice_gain(voice: Any, config: Any) -> float:
    """The gain that brings the voice's calibration sentences to CALIBRATED_PEAK (warms it too)."""
    peak = 0.0
    for text in CALIBRATION:
        for phonemes in voice.phonemize(text):
            if phonemes:
                audio = raw(
                    voice.phoneme_ids_to_audio(voice.phonemes_to_ids(phonemes), config)
                )
                peak = max(peak, float(np.max(np.abs(audio))) if audio.size else 0.0)
    return CALIBRATED_PEAK / peak if peak > _SILENT else 1.0


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
