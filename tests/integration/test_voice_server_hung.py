"""A hung voice server, end to end: the app's real server stopped (SIGSTOP) is a repair within seconds (#32, 3)."""

from __future__ import annotations

from pathlib import Path
import signal
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.alicia.const import DOMAIN
from tests.conftest import ServerProcess, wait_until

from .conftest import RealBus

pytestmark = pytest.mark.slow

BRIDGE = "alicia-voice-hung"
ISSUE = f"voice_server_{BRIDGE}"


@pytest.fixture
def real_bus_options() -> dict[str, Any]:
    """The bridge is approved as it registers."""
    return {"approval": "auto"}


async def test_a_stopped_server_is_a_repair_and_a_resumed_one_clears_it(
    hass: HomeAssistant, real_bus: RealBus, tmp_path: Path
) -> None:
    issues = ir.async_get(hass)
    server = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(real_bus.port),
        "--bridge-id", BRIDGE, "--bridge-heartbeat-interval", "1",
        log=tmp_path / "bridge.log",
    )  # fmt: skip
    try:
        await wait_until(lambda: BRIDGE in real_bus.hub.roster.devices, 120)
        await wait_until(
            lambda: real_bus.hub.roster.devices[BRIDGE].last_seen is not None
        )
        assert issues.async_get_issue(DOMAIN, ISSUE) is None
        server.process.send_signal(signal.SIGSTOP)  # hung: nothing answers
        # 3 missed heartbeats (3 s), then the hub's next check (every 5 s).
        await wait_until(lambda: issues.async_get_issue(DOMAIN, ISSUE) is not None, 15)
        issue = issues.async_get_issue(DOMAIN, ISSUE)
        assert issue is not None
        assert issue.translation_key == "voice_server_silent"
        server.process.send_signal(signal.SIGCONT)
        await wait_until(lambda: issues.async_get_issue(DOMAIN, ISSUE) is None, 15)
    finally:
        server.process.send_signal(signal.SIGCONT)
        await hass.async_add_executor_job(server.stop)
