"""Scripts run in a fresh interpreter with glibc's malloc as the server leaves it (no user settings)."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[2]


# Every script starts as the server does: its malloc settings taken before anything
# allocates; rss() is the process's resident memory in MiB.
SERVER_MALLOC = """
from wyoming_services.heap import few_malloc_arenas, give_back_freed, heap_reused
few_malloc_arenas()
heap_reused()

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / (1 << 20)
"""


def run_script(script: str) -> str:
    """What the script printed, after SERVER_MALLOC, run without MALLOC_* or GLIBC_TUNABLES."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    run = subprocess.run(
        [sys.executable, "-c", SERVER_MALLOC + script],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return run.stdout
