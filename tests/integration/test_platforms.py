"""Every entity platform's entities and states, and the diagnostics, as snapshots."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.alicia import PLATFORMS

from .helpers import LIGHT, SENSOR, register, send, setup_alicia, store_hub_key

# One device with a capability for every platform.
EVERYTHING: dict[str, Any] = {
    "device_id": "workshop",
    "device_type": "actuator",
    "name": "Workshop",
    "capabilities": [
        "temperature",
        "motion",
        "relay",
        "dimmer",
        "volume",
        "identify",
        "button",
    ],
    "metadata": {"manufacturer": "Acme", "model": "Everything", "version": "1.0"},
    "heartbeat_interval": 30,
}


@pytest.fixture(autouse=True)
def hub_key(hass_storage: dict[str, Any]) -> None:
    """A stored hub key from a fixed seed: the same fingerprint in every run."""
    store_hub_key(hass_storage)


async def setup_with_devices(hass: HomeAssistant, platforms: list[Platform]) -> Any:
    """Alicia with only these platforms, and devices that report."""
    with patch("custom_components.alicia.PLATFORMS", platforms):
        entry = await setup_alicia(hass, {"approval": "auto"})
        for document in (SENSOR, LIGHT, EVERYTHING):
            await register(hass, document)
        await send(hass, "alicia/devices/workshop/data", "workshop", {
            "values": {"temperature": 18.5, "motion": False, "relay": True,
                       "dimmer": 120, "volume": 30},
        })  # fmt: skip
        await send(hass, "alicia/system/health/heartbeat", "workshop", {
            "device_id": "workshop", "status": "healthy", "interval": 30,
            "metrics": {"cpu_usage": 3.0, "memory_usage": 12.5,
                        "response_time": 8.0, "error_rate": 0.0},
        })  # fmt: skip
        await hass.async_block_till_done()
    return entry


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
# Speakers' media players: test_media_player.py.
@pytest.mark.parametrize(
    "platform", [p for p in PLATFORMS if p is not Platform.MEDIA_PLAYER]
)
async def test_platform(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    entry = await setup_with_devices(hass, [platform])
    await snapshot_platform(hass, er.async_get(hass), snapshot, entry.entry_id)


async def test_diagnostics(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await setup_with_devices(hass, [])
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    # When a refusal happened varies from run to run.
    assert diagnostics == snapshot(exclude=props("at"))
