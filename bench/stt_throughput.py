"""How fast five transcriptions can possibly finish on two cores: the decoding work itself.

Run: `.venv/bin/python bench/stt_throughput.py`. Decodes the same utterance with the
bundled tiny.en (int8, beam 1, as both servers run it) three ways, in this process:
one decode on 2 threads (what a server with one model and a lock does five times
over), one on 1 thread, and two 1-thread decodes side by side (what our scheduler
runs when requests queue up). From these, the best wall time five sessions can
have on 2 cores, for each way of scheduling them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import statistics
import sys
import time

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faster_whisper import WhisperModel

from tests.wyoming.clips import trimmed
from tests.wyoming.voices import speak
from wyoming_services.whisper_model import bundled_model_path

RUNS = 7


def utterance() -> np.ndarray:
    """A spoken command with the 0.7 s of quiet HA's pipeline sends after it."""
    pcm, rate = speak("flite-awb", "Turn on the kitchen light and close the blinds.")
    audio = soxr.resample(trimmed(pcm), rate, 16000).astype(np.float32)
    return np.concatenate([audio, np.zeros(11200, np.float32)])


def decode(model: WhisperModel, audio: np.ndarray) -> str:
    segments, _ = model.transcribe(
        audio, language="en", beam_size=1, condition_on_previous_text=False,
        vad_filter=False, without_timestamps=True,
    )  # fmt: skip
    return "".join(s.text for s in segments)


def timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    audio = utterance()
    path = str(bundled_model_path())
    two = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)
    one = WhisperModel(
        path, device="cpu", compute_type="int8", cpu_threads=1, num_workers=2
    )
    for model in (two, one):
        decode(model, audio)  # warm-up
    t2 = statistics.median(timed(lambda: decode(two, audio)) for _ in range(RUNS))
    t1 = statistics.median(timed(lambda: decode(one, audio)) for _ in range(RUNS))
    with ThreadPoolExecutor(2) as pool:

        def side_by_side() -> None:
            list(pool.map(lambda _: decode(one, audio), range(2)))

        t1_pair = statistics.median(timed(side_by_side) for _ in range(RUNS))
    serial = 5 * t2
    ours = 2 * t1_pair + t2  # 2 + 2 side by side, the fifth alone on both threads
    print(f"one decode, 2 threads: {t2 * 1000:.0f} ms; 1 thread: {t1 * 1000:.0f} ms; "
          f"two 1-thread decodes side by side: {t1_pair * 1000:.0f} ms")  # fmt: skip
    print(
        f"five, one after another on 2 threads (a model behind a lock): {serial * 1000:.0f} ms"
    )
    print(f"five, two at a time on 1 thread each, the last on 2: {ours * 1000:.0f} ms")
    print(f"best possible ratio from scheduling alone: {ours / serial:.2f}x")


if __name__ == "__main__":
    main()
