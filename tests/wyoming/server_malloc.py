"""Scripts run in a fresh interpreter with glibc's malloc as the server leaves it (no user settings)."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[2]


def run_script(script: str) -> str:
    """What the script printed, run from the repository without MALLOC_* or GLIBC_TUNABLES."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return run.stdout
