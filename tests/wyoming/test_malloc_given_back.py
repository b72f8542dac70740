"""The server's malloc: what a Piper run or a decode freed is not kept resident once it ends."""

from __future__ import annotations

import sys

import pytest

from wyoming_services.heap import heap_reused

from .server_malloc import run_script

# A decode's matrix freed, a run's tensors made and freed below a small block that
# outlives them (as the event loop's objects do), then what the server does when a
# decode or run ends: what stays resident, in MiB.
KEPT_AFTER_A_RUN = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
MIB = 1 << 20
matrix = libc.malloc(30 * MIB)
ctypes.memset(matrix, 1, 30 * MIB)
libc.free(matrix)
before = rss()
tensors = [libc.malloc(8 * MIB) for _ in range(6)]
outlives = libc.malloc(256 * 1024)
for block in tensors:
    ctypes.memset(block, 1, 8 * MIB)
for block in tensors:
    libc.free(block)
give_back_freed()
print(rss() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_what_a_run_freed_is_given_back() -> None:
    kept = float(run_script(KEPT_AFTER_A_RUN))
    assert kept < 4  # was 48 MiB: all of the run's tensors


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MALLOC_MMAP_THRESHOLD_", "131072"),
        ("MALLOC_TRIM_THRESHOLD_", "131072"),
        ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072"),
    ],
)
def test_the_users_malloc_settings_are_left_alone(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    assert not heap_reused()
