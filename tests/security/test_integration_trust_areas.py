"""The signed trust list says where each approved device is, and says it again when that changes."""

from __future__ import annotations

from collections.abc import Callable
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import SENSOR, alicia_device

from .devices import ATTACKER, VICTIM, register_signed

TRUST = "alicia/system/security/trust"


def trust_lists(mqtt_mock: MqttMockHAClient) -> list[dict[str, Any]]:
    """The trust lists published so far, oldest first."""
    return [
        json.loads(c.args[1])["payload"]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == TRUST
    ]


@pytest.fixture
async def listed(
    hass: HomeAssistant, keys: dict[str, KeyPair], mqtt_mock: MqttMockHAClient
) -> Callable[[], list[Any]]:
    """The trust lists published so far, the victim and the attacker approved."""
    await hass.async_block_till_done()
    return lambda: trust_lists(mqtt_mock)


async def test_a_device_moved_to_another_area_is_listed_there(
    hass: HomeAssistant, entry: MockConfigEntry, listed: Callable[[], list[Any]]
) -> None:
    assert listed()[-1]["areas"] == {VICTIM: "Kitchen", ATTACKER: "Hall"}
    garage = ar.async_get(hass).async_create("Garage")
    device = alicia_device(hass, ATTACKER)
    assert device is not None
    dr.async_get(hass).async_update_device(device.id, area_id=garage.id)
    await hass.async_block_till_done()
    assert listed()[-1]["areas"] == {
        VICTIM: "Kitchen",
        ATTACKER: "Garage",
    }
    ar.async_get(hass).async_update(garage.id, name="Workshop")
    await hass.async_block_till_done()
    assert listed()[-1]["areas"][ATTACKER] == "Workshop"


async def test_other_registry_changes_publish_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, listed: Callable[[], list[Any]]
) -> None:
    published = len(listed())
    device = alicia_device(hass, VICTIM)
    assert device is not None
    dr.async_get(hass).async_update_device(device.id, name_by_user="Sensor by the sink")
    ar.async_get(hass).async_create("Attic")
    await hass.async_block_till_done()
    assert len(listed()) == published


async def test_an_approval_sends_one_trust_list(
    hass: HomeAssistant, entry: MockConfigEntry, listed: Callable[[], list[Any]]
) -> None:
    published = len(listed())
    await register_signed(
        hass, {**SENSOR, "device_id": "pantry_sensor"}, KeyPair.generate()
    )
    await hass.async_block_till_done()
    assert "pantry_sensor" in entry.runtime_data.roster.devices
    assert len(listed()) == published + 1
    assert listed()[-1]["areas"]["pantry_sensor"] == "Kitchen"
