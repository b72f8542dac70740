"""Questions and commands with a pause inside, decoded whole: is the part after the pause heard?

Each of bench/turn_end.py's paused questions and tests/wyoming/test_turn_end_live.py's
paused commands, in three voices, with pauses of 0.3, 0.5, 0.7 and 0.9 s, is decoded
whole as the server decodes it (tiny.en, int8, two threads, the settings' beam, no
home names) with each encoder window, with and without the decoder's timestamps.
Counted: word errors, and the clips whose transcript has no more words than the part
before the pause (the rest lost). Piper's voice varies a little from run to run.

Usage: .venv/bin/python bench/paused_speech.py [--windows 30 10] [--voices piper,espeak-ng,flite-slt]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import sys
import tempfile

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.turn_end import PAUSED_QUESTIONS, RATE, spoken
from tests.wyoming.phrases import normalize, word_errors
from tests.wyoming.test_turn_end_live import PAUSED
from wyoming_services import stt
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText

SENTENCES = [*PAUSED_QUESTIONS, *(parts for parts, _ in PAUSED)]
PAUSES = (0.3, 0.5, 0.7, 0.9)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=float, nargs="+", default=[30.0, 10.0])
    parser.add_argument("--voices", default="piper,espeak-ng,flite-slt")
    args = parser.parse_args()
    engines = {}
    for window in args.windows:
        engine = SpeechToText(Settings(stt_window_seconds=window, stt_cpu_threads=2))
        await engine.load()
        engines[window] = engine
    variants = [(w, timed) for w in args.windows for timed in (False, True)]
    errors = dict.fromkeys(variants, 0)
    lost = dict.fromkeys(variants, 0)
    words = clips = 0
    with tempfile.TemporaryDirectory() as folder:
        for voice in args.voices.split(","):
            for first, rest in SENTENCES:
                before = spoken(voice, first, Path(folder))
                after = spoken(voice, rest, Path(folder))
                for pause in PAUSES:
                    audio = np.concatenate(
                        (
                            np.zeros(RATE // 2, np.float32),
                            before,
                            np.zeros(int(pause * RATE), np.float32),
                            after,
                        )
                    )
                    clips += 1
                    words += len(normalize(f"{first} {rest}"))
                    for window, timed in variants:
                        stt.TIMESTAMPS = timed
                        heard = await engines[window].transcribe(audio, "en")
                        errors[window, timed] += word_errors(
                            f"{first} {rest}", heard.text
                        )[0]
                        lost[window, timed] += len(normalize(heard.text)) <= len(
                            normalize(first)
                        )
    for engine in engines.values():
        await engine.close()
    print(f"{clips} paused clips, {words} words")
    for window, timed in variants:
        print(
            f"window {window:g} s, {'timestamps' if timed else 'no timestamps'}: "
            f"WER {errors[window, timed] / words:.1%}, "
            f"the part after the pause lost in {lost[window, timed]}"
        )


if __name__ == "__main__":
    asyncio.run(main())
