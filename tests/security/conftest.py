"""The attacker-view suites share the integration's fixtures (HA, mqtt_mock, the entry)."""

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.conftest import (
    auto_enable_custom_integrations,
    entity_registry_enabled_by_default,
    entry,
    mqtt_client_mock,
    no_deprecated_use,
    snapshot,
    stt_engine,
)
from tests.integration.helpers import LIGHT, SENSOR

from . import devices

__all__ = [
    "auto_enable_custom_integrations",
    "entity_registry_enabled_by_default",
    "entry",
    "mqtt_client_mock",
    "no_deprecated_use",
    "snapshot",
    "stt_engine",
]


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices approved as they register: an attacker is an approved device too."""
    return {"approval": "auto"}


@pytest.fixture
async def keys(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, KeyPair]:
    """The victim and the attacker, both approved with keys of their own."""
    pairs = {devices.VICTIM: KeyPair.generate(), devices.ATTACKER: KeyPair.generate()}
    await devices.register_signed(hass, SENSOR, pairs[devices.VICTIM])
    await devices.register_signed(hass, LIGHT, pairs[devices.ATTACKER])
    assert set(entry.runtime_data.roster.devices) == {devices.VICTIM, devices.ATTACKER}
    return pairs
