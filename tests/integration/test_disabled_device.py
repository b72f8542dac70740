"""A device the user disabled in HA acts on nothing and leaves the trust list, until enabled again."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .helpers import SENSOR, alicia_device, register_keyed, send_keyed

DEVICE = SENSOR["device_id"]
TURN_ON = {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}}


@pytest.fixture
async def entry_options(hass: HomeAssistant) -> dict[str, Any]:
    """An exposed kitchen light; devices approved as they register."""
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.kitchen", "off", {"friendly_name": "Kitchen"})
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    return {"approval": "auto"}


async def set_disabled(hass: HomeAssistant, disabled: bool) -> None:
    """What the user does: Settings → Devices → the sensor → Disable (or Enable)."""
    device = alicia_device(hass, DEVICE)
    assert device is not None
    dr.async_get(hass).async_update_device(
        device.id, disabled_by=dr.DeviceEntryDisabler.USER if disabled else None
    )
    await hass.async_block_till_done()


async def command(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> dict[str, Any]:
    """The sensor's signed command to turn the kitchen light on: HA's answer."""
    mqtt_mock.async_publish.reset_mock()
    await send_keyed(hass, "alicia/integration/ha/command", DEVICE, TURN_ON)
    published = mqtt_mock.async_publish.call_args_list
    (raw,) = [c.args[1] for c in published if c.args[0].endswith("ha/command/response")]
    answer: dict[str, Any] = json.loads(raw)["payload"]
    return answer


def trusted(mqtt_mock: MqttMockHAClient) -> dict[str, str]:
    """The device keys the last published trust list names."""
    (*_, raw) = [
        c.args[1]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == "alicia/system/security/trust"
    ]
    devices: dict[str, str] = json.loads(raw)["payload"]["devices"]
    return devices


async def test_a_disabled_device_acts_on_nothing_until_enabled(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """The attack: disabled by the user, the device still turns the light on and stays trusted."""
    await register_keyed(hass, SENSOR)
    calls = async_mock_service(hass, "light", "turn_on")
    roster = entry.runtime_data.roster
    await set_disabled(hass, True)
    assert DEVICE not in trusted(mqtt_mock)

    answer = await command(hass, mqtt_mock)
    assert answer["status"] == "refused"
    assert answer["error"]["message"] == f"{DEVICE} is disabled in Home Assistant"
    assert not calls
    assert not roster.may_act(DEVICE)

    await set_disabled(hass, False)
    assert DEVICE in trusted(mqtt_mock)
    assert await command(hass, mqtt_mock) == {"status": "done"}
    assert len(calls) == 1
    assert roster.may_act(DEVICE)
