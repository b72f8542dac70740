"""Piper's onnxruntime sessions: threads that sleep, arenas kept within bounds, runs that stop."""

from __future__ import annotations

from collections.abc import Callable
import functools
import logging
from pathlib import Path
import shutil
import tempfile
import threading
from typing import Any

from alicia_bus.text import excerpt

from .piper_cut_cache import CutCache
from .piper_graph import (
    DECODER_FILE,
    DECODER_TAIL_FILE,
    ENCODER,
    Cut,
    WindowedVits,
    cut,
)

_LOGGER = logging.getLogger(__name__)


def piper_session(model_path: Path, cache: CutCache | None = None) -> StoppableSession:
    """The voice's onnxruntime session(s) as the server runs them (heavy: in a worker thread).

    Cut before the decoder when the graph allows (piper_graph): a run then holds one
    decoder window's memory, not the whole sentence's. The cut is taken from the
    cache when it has it, and kept there when it is made.
    """
    import onnxruntime  # type: ignore[import-untyped]  # noqa: PLC0415

    def session(model: Path, *, whole: bool) -> Any:
        options = onnxruntime.SessionOptions()
        # Threads that spin while they wait take the CPU from the other piece
        # synthesized at the same time: measured on 2 cores, a "Hello." beside a long
        # request took 2.5x its time alone with spinning, 1.7x without; alone, the same.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # An arena: without one, each of a run's tensors was mapped anew (20,600 page
        # faults for "Turned on the light" against 4,300) and a run took 1.5x the CPU
        # time. The whole graph's is given back after each run (kept, it held the
        # largest run's memory for good, +100 MiB); the parts' as WindowedVits says.
        options.enable_cpu_mem_arena = True
        # A planned block for all of a run's tensors at once: the parts' windows
        # held 20-30 % more with it and were no faster.
        options.enable_mem_pattern = whole
        if not whole and shared_arena(onnxruntime):
            # One arena for every voice's parts: it keeps what the runs at once
            # need, not each part's largest run (18 MiB kept after runs alone
            # against 28, 34 after runs in pairs against 46).
            options.add_session_config_entry("session.use_env_allocators", "1")
        return onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def parts(folder: Path, made: Cut) -> WindowedVits:
        tail = folder / DECODER_TAIL_FILE
        return WindowedVits(
            session(folder / ENCODER, whole=False),
            session(folder / DECODER_FILE, whole=False),
            made,
            session(tail, whole=False) if made.between else None,
        )

    if cache is not None and (kept := cache.find(model_path)) is not None:
        try:
            return StoppableSession(parts(*kept), onnxruntime.RunOptions)
        except Exception as err:  # onnxruntime's errors share no base of their own
            _LOGGER.warning(
                "Piper voice %s: its kept cut cannot be loaded (%s); cutting it again",
                model_path.name,
                excerpt(str(err)),
            )
            cache.forget(model_path)

    def cut_in(folder: Path, *, keep: bool) -> Any:
        made = cut(model_path, folder)
        if made is None:
            return session(model_path, whole=True)
        try:
            graph = parts(folder, made)
        except Exception as err:  # onnxruntime's errors share no base of their own
            _LOGGER.warning(
                "Piper voice %s runs whole: its parts do not load (%s)",
                model_path.name,
                excerpt(str(err)),
            )
            return session(model_path, whole=True)
        if keep and cache is not None:
            cache.keep(model_path, folder, made)
        return graph

    scratch = cache.scratch() if cache is not None else None
    if scratch is not None:
        try:
            graph = cut_in(scratch, keep=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)  # gone already when kept
    else:
        with tempfile.TemporaryDirectory(prefix="alicia-piper-") as made:
            graph = cut_in(Path(made), keep=False)
    return StoppableSession(graph, onnxruntime.RunOptions)


@functools.cache
def shared_arena(onnxruntime: Any) -> bool:
    """Whether the process's arena for Piper's parts is there (made at the first ask)."""
    try:
        onnxruntime.create_and_register_allocator(
            onnxruntime.OrtMemoryInfo(
                "Cpu",
                onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR,
                0,
                onnxruntime.OrtMemType.DEFAULT,
            ),
            onnxruntime.OrtArenaCfg({}),
        )
    except Exception as err:  # onnxruntime's errors share no base of their own
        _LOGGER.warning("Piper's voices keep an arena each: %s", excerpt(str(err)))
        return False
    return True


def given_back(options: Any) -> Any:
    """RunOptions (onnxruntime) whose run gives its session's arena back when it ends."""
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


class StoppableSession:
    """An onnxruntime session whose runs take the RunOptions the calling thread was given."""

    def __init__(self, session: Any, options: Callable[[], Any]) -> None:
        """Wrap Piper's session (it calls run(outputs, inputs)); options: makes a RunOptions."""
        self._session = session
        self._options = options
        self._local = threading.local()

    @property
    def windowed(self) -> bool:
        """Whether its decoder runs in windows (a run's memory bounded, piper_graph)."""
        return isinstance(self._session, WindowedVits)

    def run_options(self) -> Any:
        """A new run's RunOptions: its stop flag; a whole graph's arena given back at its end."""
        # A whole graph's memory grows with the run's text; the windowed parts' is
        # bounded by the windows, and kept (WindowedVits).
        options = self._options()
        return options if self.windowed else given_back(options)

    def for_this_thread(
        self, options: Any, deliver: Callable[[Any], None] | None = None
    ) -> None:
        """The RunOptions of this thread's next runs (None: none).

        deliver: handed each window's audio as soon as it is made (a windowed
        decoder's; a graph run whole gives its audio only at the end).
        """
        self._local.options = options
        self._local.deliver = deliver

    def run(self, output_names: Any, input_feed: Any, run_options: Any = None) -> Any:
        """Run with this thread's RunOptions, unless given some; new ones without either."""
        options = (
            run_options or getattr(self._local, "options", None) or self.run_options()
        )
        deliver = getattr(self._local, "deliver", None)
        if deliver is not None and self.windowed:
            return self._session.run(output_names, input_feed, options, deliver)
        return self._session.run(output_names, input_feed, options)

    def __getattr__(self, name: str) -> Any:
        """Anything else is the session's."""
        return getattr(self._session, name)
