"""A signed device killed without a goodbye, end to end: its will makes it unavailable in HA at once (#32, 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from tests.conftest import ServerProcess, wait_until

from .conftest import RealBus

pytestmark = pytest.mark.slow

BRIDGE = "alicia-voice-killed"
# Heartbeats every 30 s: silence would take 90 s to tell; only the will is fast.
HEARTBEAT_SECONDS = 30


@pytest.fixture
def real_bus_options() -> dict[str, Any]:
    """The bridge is approved as it registers."""
    return {"approval": "auto"}


async def test_a_killed_signed_device_is_unavailable_within_seconds(
    hass: HomeAssistant, real_bus: RealBus, tmp_path: Path
) -> None:
    server = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(real_bus.port),
        "--bridge-id", BRIDGE,
        "--bridge-heartbeat-interval", str(HEARTBEAT_SECONDS),
        log=tmp_path / "bridge.log",
    )  # fmt: skip
    try:
        await wait_until(lambda: BRIDGE in real_bus.hub.roster.devices, 120)
        device = real_bus.hub.roster.devices[BRIDGE]
        assert device.public_key is not None  # it signs: its will is signed too
        connectivity = er.async_get(hass).async_get_entity_id(
            "binary_sensor", "alicia", f"{BRIDGE}_connectivity"
        )
        assert connectivity is not None
        await wait_until(lambda: hass.states.is_state(connectivity, STATE_ON), 30)
        server.process.kill()  # no goodbye: the broker publishes its will
        await hass.async_add_executor_job(server.process.wait)
        await wait_until(lambda: hass.states.is_state(connectivity, STATE_OFF), 10)
        assert device.offline
    finally:
        await hass.async_add_executor_job(server.stop)
