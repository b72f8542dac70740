"""What a faked faster-whisper returns: one segment with the fields the decode reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Segment:
    """A segment of a confident, unrepeated transcript unless told otherwise."""

    text: str = " heard"
    no_speech_prob: float = 0.1
    avg_logprob: float = -0.3
    compression_ratio: float = 1.0
    temperature: float = 0.0
