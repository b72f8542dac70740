"""docs/devices.md's satellite, as written: the simulated satellite's command against HA on a real broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import os
from pathlib import Path
import re
import shlex
import sys
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import mock_config_flow

from tests.conftest import ROOT

from .conftest import RealBus
from .satellites import CHUNK, StubFlow, StubStt, setup_voice, wav

pytestmark = pytest.mark.slow
GUIDE = ROOT / "docs" / "devices.md"


@pytest.fixture
async def stt_engine(hass: HomeAssistant) -> AsyncIterator[StubStt]:
    """HA's Assist with the stub engines."""
    with mock_config_flow("stub_voice", StubFlow):
        yield await setup_voice(hass)


@pytest.fixture
def real_bus_options(stt_engine: StubStt) -> dict[str, Any]:
    """Assist before Alicia; new devices approved at once (*Permit new devices*)."""
    return {"approval": "auto"}


def satellite_command() -> str:
    """The guide's bash block of its satellite section."""
    text = GUIDE.read_text()
    start = text.index("\n## A voice satellite")
    blocks: list[str] = re.findall(r"```bash\n(.*?)```", text[start:], re.DOTALL)
    return blocks[0].strip()


async def test_the_guides_satellite_says_a_command_and_hears_the_answer(
    hass: HomeAssistant, real_bus: RealBus, stt_engine: StubStt, tmp_path: Path
) -> None:
    (tmp_path / "command.wav").write_bytes(wav(CHUNK * 5))
    argv = shlex.split(satellite_command().replace("1883", str(real_bus.port)))
    assert argv[:3] == ["python", "-m", "wyoming_services.sim_satellite"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv[1:], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, errors = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, errors.decode()
    run = json.loads(output.decode().strip().splitlines()[-1])
    assert run["events"][:2] == ["listening", "heard"]
    assert {"transcript", "answer", "play", "end"} <= set(run["events"])
    assert stt_engine.heard == CHUNK * 5
    assert "my_satellite: key fingerprint SHA256:" in errors.decode()
    assert (tmp_path / "my_satellite.pem").exists()
