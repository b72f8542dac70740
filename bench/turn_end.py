"""Questions with a thinking pause: which quiet after a whole question would end the turn inside the pause.

The turn-end rule (wyoming_services/turn_end.py) judges the quiet by the decode of
the speech so far. In a pause, that is the decode of the first half; the turn ends
inside the pause if the quiet this decode asks for is no longer than the pause.
Each first half and each whole question is decoded once, as the live server does
(the speech and 0.2 s of quiet, tiny.en, no home names), in three voices.

With --timing, it times instead when the turn ends after the pipeline benchmark's
commands (the home's names known), streamed at real time into a session, the old
start of the speculative decode (0.3 s of quiet) and the new one alternated.

Usage: .venv/bin/python bench/turn_end.py [--voices piper,espeak-ng,flite-slt] [--timing]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from pathlib import Path
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import piper_joe
from bench.pipeline_home import COMMANDS, ENTITIES
from tests.wyoming.clips import as_format, trimmed
from tests.wyoming.voices import speak
from wyoming_services.audio import PcmFormat
from wyoming_services.endpoint import EndpointConfig
from wyoming_services.home_language import HomeNames
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText
from wyoming_services.stt_session import SttSession
from wyoming_services.turn_end import QUESTION_SECONDS, Said, quiet_needed

RATE = 16000
# Questions split where people look for the word: after a function word, and after
# a first half that is a question of its own.
PAUSED_QUESTIONS = [
    ("What is the capital of", "France?"),
    ("How far away is", "the moon?"),
    ("How many people live in", "Canada?"),
    ("Who wrote", "Pride and Prejudice?"),
    ("What's the weather like", "tomorrow?"),
    ("What time is it", "in Tokyo?"),
    ("Can you tell me", "how tall Mount Everest is?"),
    ("Is it going to rain", "this weekend?"),
    ("When does the sun set", "today?"),
    ("Why is the sky", "blue?"),
]
PAUSES = (0.3, 0.5, 0.7, 0.9)
CANDIDATES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


def spoken(voice: str, text: str, folder: Path) -> np.ndarray:
    """The text in the voice, trimmed to the speech, at 16 kHz, and 0.2 s of quiet."""
    pcm, rate = piper_joe(text, folder) if voice == "piper" else speak(voice, text)
    audio = np.frombuffer(as_format(trimmed(pcm), rate, RATE, 1), dtype="<i2")
    samples: np.ndarray = audio.astype(np.float32) / 32768
    return np.concatenate((samples, np.zeros(RATE // 5, dtype=np.float32)))


STARTS = {
    "decode after 0.3 s of quiet (before)": EndpointConfig(
        hangover_seconds=0.3, early_seconds=9.0
    ),
    "decode after 0.1 s (now)": EndpointConfig(),
}


async def turn_over_after(
    engine: SpeechToText, speech: np.ndarray, start: str
) -> float:
    """Seconds from the end of speech until the session ends the turn (0.3 s lead, 20 ms chunks)."""
    pcm = (
        (
            np.concatenate(
                (np.zeros(RATE * 3 // 10), speech[: -RATE // 5], np.zeros(RATE * 4))
            )
            * 32767
        )
        .astype("<i2")
        .tobytes()
    )
    session = SttSession(engine, PcmFormat(RATE, 2, 1), "en", STARTS[start])
    began, speech_end = time.perf_counter(), 0.3 + (speech.size - RATE // 5) / RATE
    for offset in range(0, len(pcm), 640):
        await asyncio.sleep(
            max(0.0, began + (offset + 640) / 2 / RATE - time.perf_counter())
        )
        session.add_audio(pcm[offset : offset + 640])
        if session.turn_over():
            break
    ended = time.perf_counter() - began - speech_end
    await session.finish()
    return ended


async def timing(engine: SpeechToText, voices: list[str], rounds: int) -> None:
    """The old and the new start alternated, command by command."""
    names = HomeNames(
        tuple((name, domain) for domain, _, name, _ in ENTITIES),
        tuple(sorted({area for *_, area in ENTITIES if area})),
    )
    engine.set_vocabulary([name for _, _, name, _ in ENTITIES], names)
    ended: dict[str, list[float]] = {start: [] for start in STARTS}
    with tempfile.TemporaryDirectory() as folder:
        made = [
            spoken(v, text, Path(folder)) for v in voices for text, _, _ in COMMANDS
        ]
        for turn in range(rounds * len(made)):
            order = list(STARTS)[turn % 2 :] + list(STARTS)[: turn % 2]
            for start in order:
                ended[start].append(
                    await turn_over_after(engine, made[turn % len(made)], start)
                )
    for start, times in ended.items():
        ms = sorted(round(t * 1000) for t in times)
        print(
            f"{start}: end of speech -> turn over p50 {statistics.median(ms):.0f} ms, "
            f"p90 {ms[round(0.9 * (len(ms) - 1))]} ms ({len(ms)} turns)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", default="piper,espeak-ng,flite-slt")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    voices = args.voices.split(",")
    engine = SpeechToText(Settings())
    await engine.load()
    if args.timing:
        await engine.load_parallel()
        await timing(engine, voices, args.rounds)
        await engine.close()
        return
    clipped: Counter[float] = Counter()
    whole_quiet: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for voice in voices:
            for first, rest in PAUSED_QUESTIONS:
                half = await engine.transcribe(spoken(voice, first, Path(folder)), "en")
                whole = await engine.transcribe(
                    spoken(voice, f"{first} {rest}", Path(folder)), "en"
                )
                half_quiet = quiet_needed(Said(half.text))
                whole_quiet.append(quiet_needed(Said(whole.text)))
                question = half_quiet == QUESTION_SECONDS
                for candidate in CANDIDATES:
                    needed = candidate if question else half_quiet
                    clipped[candidate] += sum(pause >= needed for pause in PAUSES)
                print(
                    f"{voice:10} {half.text!r:34} -> {half_quiet:.1f} s | "
                    f"{whole.text!r} -> {whole_quiet[-1]:.1f} s"
                )
    await engine.close()
    runs = len(voices) * len(PAUSED_QUESTIONS) * len(PAUSES)
    print(f"\npaused questions: {runs} ({len(PAUSES)} pauses: {PAUSES} s)")
    for candidate in CANDIDATES:
        print(f"question quiet {candidate:.1f} s: {clipped[candidate]} clipped")
    ends = Counter(whole_quiet)
    print("whole questions end after:", dict(sorted(ends.items())))


if __name__ == "__main__":
    asyncio.run(main())
