"""The tables of bench/pipeline.py: stage times from the end of speech, and where intent-end to first byte goes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.voice import pct

STAGES = ("stt-end", "intent-end", "tts-end", "first-byte", "last-byte")
WIRE = (
    "stt-transcript",
    "tts-request",
    "tts-text",
    "tts-audio-start",
    "tts-first-chunk",
)


def report(runs: list[dict[str, Any]], stacks: list[str]) -> str:
    """The markdown table: p50 / p90 per stage from the end of speech, and commands acted on."""
    lines = [
        "| stack | "
        + " | ".join(f"{s} p50 / p90" for s in (*STAGES, *WIRE))
        + " | acted on correctly |",
        "|---|" + "---|" * (len(STAGES) + len(WIRE) + 1),
    ]
    for name in stacks:
        mine = [r for r in runs if r["stack"] == name]
        cells = []
        for stage in (*STAGES, *WIRE):
            values = [r["ms"][stage] for r in mine if stage in r["ms"]]
            cells.append(f"{pct(values, 0.5)} / {pct(values, 0.9)}" if values else "—")
        correct = sum(r["correct"] for r in mine)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {correct}/{len(mine)} |")
    return "\n".join(lines)


SEGMENTS = (
    ("HA: intent-end → TTS request", "intent-end", "tts-request"),
    ("server: TTS request → first audio chunk", "tts-request", "tts-first-chunk"),
    ("of which: TTS request → its whole text", "tts-request", "tts-text"),
    ("server: whole text → first audio chunk", "tts-text", "tts-first-chunk"),
    ("HA: first audio chunk → first byte", "tts-first-chunk", "first-byte"),
    ("first byte → last byte", "first-byte", "last-byte"),
)


def segments(runs: list[dict[str, Any]], stacks: list[str]) -> str:
    """Where intent-end → first byte goes: per-run differences, p50 / p90 (ms)."""
    lines = ["| segment | " + " | ".join(stacks) + " |", "|---|" + "---|" * len(stacks)]
    for label, start, end in SEGMENTS:
        cells = []
        for name in stacks:
            values = [
                r["ms"][end] - r["ms"][start]
                for r in runs
                if r["stack"] == name and start in r["ms"] and end in r["ms"]
            ]
            cells.append(f"{pct(values, 0.5)} / {pct(values, 0.9)}" if values else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio(runs: list[dict[str, Any]], ours: str, peer: str, stage: str) -> float:
    def p50(name: str) -> float:
        return pct(
            [r["ms"][stage] for r in runs if r["stack"] == name and stage in r["ms"]],
            0.5,
        )

    return p50(ours) / p50(peer)


def main() -> None:
    """Print the tables of a saved run again: python bench/pipeline_report.py RESULTS.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    runs = json.loads(parser.parse_args().results.read_text())["runs"]
    names = list(dict.fromkeys(r["stack"] for r in runs))
    print(report(runs, names))
    print(segments(runs, names))


if __name__ == "__main__":
    main()
