"""Where the decoded audio ends: the last loud frame + 0.2 s, or all of it, checked on fresh sentences.

Run: `.venv/bin/python bench/decode_tail.py` (about 15 minutes of one core; clips are
cached as bench/decode_options.py caches them). bench/decode_options.py found that
decoding the whole audio, trailing silence included, beat our cut (the last loud
frame + `tail_seconds`) on its held-out half but not on its tuning half: a soft
final "s" is quiet, and at 8 kHz has lost its high frequencies. So the question is
tuned here on sentences neither half has (FRESH, in its own two halves), and
reported on the fresh held-out half and on both of decode_options' halves. Each
variant decodes as SpeechToText does (tiny.en, int8, one thread, the settings' beam,
the vocabulary prompt, the second look and the prompt-echo re-decode); only the
audio's end differs. Only padded clips can differ (16 kHz, 8 kHz, 10 dB of noise).
docs/benchmarks.md has the figures (the whole audio level on fresh sentences).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
import json
from pathlib import Path
import sys
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.decode_clips import OPEN, SAID, Clip, clip, clips, front_end
from bench.decode_options import (
    Heard,
    Memo,
    Seen,
    hear,
    load_model,
    paired,
    prompts,
    tally,
    variants,
    verdict,
)
from tests.wyoming.voices import available

FRESH_COMMANDS = [
    "Turn off the Nanoleaf panels.", "Turn on Zoë's bedroom lamp.",
    "Turn off the Lutron dimmer.", "Turn on the porch light.", "Turn off the Shelly plug.",
    "Turn off the Christmas tree.", "Turn on the desk lamp.", "Turn off the ceiling light.",
    "Turn off the bathroom fan.", "Turn on the Dyson.", "Turn on the kitchen speaker.",
    "Lock the back door.", "Unlock the front door.", "Turn on the lights in the kitchen.",
    "Turn off the lights in the bedroom.", "Turn on the lights in the office.",
    "Turn off the lights in the bathroom.", "Set the Ecobee to 22 degrees.",
    "Set the thermostat to 18 degrees.", "Set the Lutron dimmer brightness to 60 percent.",
    "Is the garage door open?", "Turn on the lights in the living room.",
]  # fmt: skip
FRESH_OPEN = [
    "What time does the sun set today?", "Tell me a story about pirates.",
    "How many legs does a spider have?", "Add eggs and milk to the shopping list.",
    "What is the tallest mountain in Africa?", "My brother plays the drums.",
    "How do airplanes stay in the air?", "Recommend a movie for tonight.",
    "What is the population of Brazil?", "The cat knocked over the glass.",
    "How many miles is a marathon?", "Who invented the telephone?",
    "Describe the rings of Saturn.", "Where do penguins live?", "Sing me a lullaby.",
    "What causes thunderstorms?", "I forgot my umbrella at work.",
    "How do bees make honey?", "What is the fastest animal on land?",
    "Tell me the news about sports.", "The printer is out of ink again.",
    "Suggest a gift for my dad.",
]  # fmt: skip
PADDED = ("16k padded", "8k padded", "16k noisy")
SETS = (
    "fresh tuning",
    "fresh held-out",
    "decode_options tuning",
    "decode_options held-out",
)


def fresh_clips(voices: list[str], sentences: list[str]) -> list[Clip]:
    """Each sentence in every voice, each voice padded in another way (rotating)."""
    return [
        clip(voice, text, PADDED[(i + j) % len(PADDED)])
        for i, text in enumerate(sentences)
        for j, voice in enumerate(voices)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "decode_tail.json"
    )
    args = parser.parse_args()
    model = load_model()
    memo = Memo(model)
    ours = variants(*prompts(), 5)["ours"]
    voices = ["piper", *available()]
    sets = {
        SETS[0]: fresh_clips(voices, [*FRESH_COMMANDS[0::2], *FRESH_OPEN[0::2]]),
        SETS[1]: fresh_clips(voices, [*FRESH_COMMANDS[1::2], *FRESH_OPEN[1::2]]),
        SETS[2]: clips(voices, [*SAID[0::2], *OPEN[0::2]]),
        SETS[3]: clips(voices, [*SAID[1::2], *OPEN[1::2]]),
    }
    heard: list[Heard] = []
    started = time.perf_counter()
    for label, group in sets.items():
        for item in group:
            seen: Seen = {}
            audio, end = front_end(item)
            texts = {
                "ours": hear(model, ours, audio, end, seen),
                "whole audio": hear(model, replace(ours, trim=False), audio, end, seen),
            }
            memo.store.clear()
            heard.append(Heard(item.sentence, item.voice, item.condition, label, texts))
        print(f"{label}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    report(heard, voices, ["ours", "whole audio"], args.out)


def net(rows: list[Heard], variant: str) -> int:
    """Clips the variant hears better than ours, less those it hears worse."""
    better, worse = paired(rows, variant)
    return better - worse


def report(heard: list[Heard], voices: list[str], names: list[str], out: Path) -> None:
    """Choose on the fresh tuning half; print every set's figures."""
    tuning = [row for row in heard if row.half == SETS[0]]
    notes = {n: verdict(tuning, n, voices) for n in names if n != "ours"}
    kept = [n for n in notes if notes[n].startswith("kept")]
    chosen = max(kept, key=lambda n: net(tuning, n)) if kept else "ours"
    print(f"chosen on the fresh tuning half: {chosen}")
    results: dict[str, object] = {"chosen": chosen, "tuning verdicts": notes}
    for label in SETS:
        rows = [row for row in heard if row.half == label]
        print(f"\n{label} (exact/clips, WER; vs ours: better / worse clips)")
        print(f"| variant | {' | '.join(voices)} | all | vs ours |")
        for n in names:
            cells = [tally([r for r in rows if r.voice == v], n).cell() for v in voices]
            against = "" if n == "ours" else verdict(rows, n, voices)
            print(
                f"| {n} | {' | '.join(cells)} | **{tally(rows, n).cell()}** | {against} |"
            )
            results[f"{label}: {n}"] = asdict(tally(rows, n))
    out.parent.mkdir(parents=True, exist_ok=True)
    results["heard"] = [asdict(row) for row in heard]
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
