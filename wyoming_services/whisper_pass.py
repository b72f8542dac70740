"""One decode pass on a Whisper model: a second look at what it called silence, the prompt read back."""

from __future__ import annotations

import re
from typing import Any

from .audio import Float32Array
from .vocabulary_prompt import echoes_prompt

# What a second look keeps, measured on tiny.en at temperature 0: white noise and a
# hum come back as "." or "you" with no_speech_prob 0.91 to 0.96; flite's "Stop."
# at 8 kHz, which the model first called silence, as "That" (no_speech_prob 0.67,
# avg_logprob -1.52). The limits leave room either side, as CPUs round int8 maths
# differently. A repeated word is a hallucination (compression ratio over 2.4,
# faster-whisper's own limit), on every pass: when all its temperatures fail that
# limit faster-whisper still returns the likeliest, and a 440 Hz tone came back as
# "beep" 112 times after sampling at 0.2 to 1.0. A pure tone may come back as
# "Beeping.": a beep is heard as one.
SECOND_LOOK_NO_SPEECH = 0.8
SECOND_LOOK_LOGPROB = -1.8
SECOND_LOOK_COMPRESSION = 2.4
# One word said again and again, which faster-whisper only got by sampling (its
# temperature above 0) where the model itself heard no speech: a 440 Hz tone
# (no_speech_prob 0.79-0.83) came back as "Beep, beep, beep, beep, beep, beep." at
# 0.8. Other words sampled there stay: with every sampled segment over 0.7 dropped,
# Piper's "Stop." under noise at 10 dB came back empty in a test run. On 403 clips of
# speech in five voices (bench/decode_clips.py), 35 segments were sampled, none over
# no_speech_prob 0.59.
SAMPLED_NO_SPEECH = 0.7
SAMPLED_REPEATS = 3


def second_look(model: Any, audio: Float32Array, options: dict[str, Any]) -> list[str]:
    """Decode again without the model's no-speech cut, keeping only confident segments.

    Called when the signal may hold speech but the model returned nothing: a short
    command said without silence around it can look like no speech to it. At
    temperature 0 only, so the answer is the same every time.
    """
    segments, _info = model.transcribe(
        audio, **(options | {"no_speech_threshold": None, "temperature": 0.0})
    )
    return [
        segment.text
        for segment in segments
        if segment.no_speech_prob < SECOND_LOOK_NO_SPEECH
        and segment.avg_logprob > SECOND_LOOK_LOGPROB
        and segment.compression_ratio <= SECOND_LOOK_COMPRESSION
    ]


def _heard(segment: Any) -> bool:
    """Whether a segment is speech heard, not a word made again and again of a tone."""
    if segment.compression_ratio > SECOND_LOOK_COMPRESSION:
        return False
    if segment.temperature > 0 and segment.no_speech_prob > SAMPLED_NO_SPEECH:
        said = re.findall(r"[\w']+", segment.text.casefold())
        return len(said) < SAMPLED_REPEATS or len(set(said)) > 1
    return True


def decode_pass(
    model: Any, audio: Float32Array, options: dict[str, Any]
) -> tuple[list[str], bool]:
    """The segments heard, and whether they only read the prompt back (then decoded without it)."""
    segments, _info = model.transcribe(audio, **options)
    texts = [segment.text for segment in segments if _heard(segment)]
    if not "".join(texts).strip():
        texts = second_look(model, audio, options)
    if echoes_prompt("".join(texts), options["initial_prompt"]):
        texts, _ = decode_pass(model, audio, options | {"initial_prompt": None})
        return texts, True
    return texts, False
