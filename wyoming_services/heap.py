"""The server's malloc: memory reused within a decode or a Piper run, given back after each."""

from __future__ import annotations

from collections.abc import Callable
import ctypes
import os

# glibc's mallopt options.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Blocks under 64 MiB (a decode's 51 MiB attention matrix included) come from the
# heap, so a decode or a run reuses what its last layer freed; give_back_freed()
# returns the heap's free pages after each. Mapping every block from 1 MiB up
# instead (and unmapping it when freed) had a tiny.en decode fault in 135,000
# pages, 1.6x the CPU time (docs/benchmarks.md).
MMAP_THRESHOLD = 64 * 1024 * 1024
TRIM_THRESHOLD = 64 * 1024 * 1024
# Set by the user, they are the user's choice.
USER_MALLOC = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def _glibc(name: str) -> Callable[..., int] | None:
    """One of glibc's malloc functions, or None (another libc)."""
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc
        return None
    return function


def few_malloc_arenas() -> bool:
    """Two malloc arenas, not glibc's eight per core; whether glibc took it.

    Every thread that allocates (a decode, a Piper run, the default executor) gets
    an arena of its own otherwise, and each keeps what its largest job freed: the
    soak measured 100-190 MiB more at rest and peaks 55-145 MiB higher
    (docs/benchmarks.md). MALLOC_ARENA_MAX, when set, is the user's choice.
    """
    mallopt = _glibc("mallopt")
    if "MALLOC_ARENA_MAX" in os.environ or mallopt is None:
        return False
    return bool(mallopt(M_ARENA_MAX, 2))


def heap_reused() -> bool:
    """Blocks under 64 MiB from the heap, at fixed thresholds; whether glibc took it.

    glibc's own thresholds move with the largest mapped block freed (up to 32 MiB),
    so the 51 MiB matrix was mapped anew each decode; fixed, every block of a
    decode or run is reused within it, and give_back_freed() empties the heap after.
    """
    mallopt = _glibc("mallopt")
    chosen = any(name in os.environ for name in USER_MALLOC)
    if chosen or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "") or not mallopt:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


_TRIM = _glibc("malloc_trim")


def give_back_freed() -> None:
    """Return the heap's free pages to the system (after a decode or a Piper run)."""
    # Free chunks anywhere in the heap, not only its top: what a decode freed under
    # a block that outlives it would stay resident until the next decode.
    if _TRIM is not None:
        _TRIM(0)
