"""Voices from Debian for test clips (espeak-ng, flite), besides the bundled Piper voice."""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess
import tempfile
import wave

import numpy as np

# name -> the command that writes the text, spoken, to a WAV file ({out}, {text}).
VOICES: dict[str, list[str]] = {
    "espeak-ng": ["espeak-ng", "-v", "en-us", "-w", "{out}", "{text}"],
    "espeak-ng-f3": [
        "espeak-ng",
        "-v",
        "en-us+f3",
        "-s",
        "190",
        "-w",
        "{out}",
        "{text}",
    ],
    "flite-slt": ["flite", "-voice", "slt", "-t", "{text}", "-o", "{out}"],
    "flite-awb": ["flite", "-voice", "awb", "-t", "{text}", "-o", "{out}"],
}


def available() -> list[str]:
    """The voices whose program is installed (scripts/setup installs both)."""
    return [name for name, command in VOICES.items() if shutil.which(command[0])]


def speak(voice: str, text: str) -> tuple[bytes, int]:
    """16-bit mono PCM of the text in that voice, and its rate."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "clip.wav"
        command = [part.format(out=out, text=text) for part in VOICES[voice]]
        subprocess.run(command, check=True, capture_output=True, timeout=30)
        with wave.open(str(out)) as clip:
            assert (clip.getnchannels(), clip.getsampwidth()) == (1, 2), voice
            return clip.readframes(clip.getnframes()), clip.getframerate()


def with_noise(audio: np.ndarray, snr_db: float, seed: int = 7) -> np.ndarray:
    """The clip with white noise at that signal-to-noise ratio (same noise each run)."""
    power = float(np.mean(audio**2))
    noise = np.random.default_rng(seed).normal(0, 1, audio.shape).astype(np.float32)
    noisy: np.ndarray = audio + noise * np.sqrt(power / 10 ** (snr_db / 10))
    return noisy
