"""Device triggers for an alicia button: listed for the device, and firing an automation."""

from __future__ import annotations

from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import DOMAIN
from custom_components.alicia.event import DEFAULT_EVENT_TYPES

from .helpers import alicia_device, register, send, setup_alicia

BUTTON = {
    "device_id": "hall_button",
    "device_type": "controller",
    "name": "Hall button",
    "capabilities": [
        {"name": "button", "parameters": {"events": ["press", "long_press"]}}
    ],
}


async def test_button_device_trigger(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    await setup_alicia(hass, {"approval": "auto"})
    await register(hass, BUTTON)
    device = alicia_device(hass, "hall_button")
    assert device is not None

    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, device.id
    )
    ours = [t for t in triggers if t["domain"] == DOMAIN]
    assert sorted((t["type"], t["subtype"]) for t in ours) == [
        ("long_press", "button"),
        ("press", "button"),
    ]

    calls = async_mock_service(hass, "test", "pressed")
    assert await async_setup_component(hass, "automation", {"automation": [{
        "triggers": [{"trigger": "device", "domain": DOMAIN, "device_id": device.id, "type": "long_press", "subtype": "button"}],
        "actions": [{"action": "test.pressed"}],
    }]})  # fmt: skip
    await hass.async_block_till_done()
    await send(
        hass,
        "alicia/devices/hall_button/data",
        "hall_button",
        {"values": {"button": "press"}},
    )
    assert calls == []
    await send(
        hass,
        "alicia/devices/hall_button/data",
        "hall_button",
        {"values": {"button": "long_press"}},
    )
    assert len(calls) == 1


@pytest.mark.parametrize("events", [7, "press"])
async def test_events_that_are_no_list_of_names_give_the_default_triggers(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, events: object
) -> None:
    """7 was a TypeError listing the device's triggers; "press" one trigger per letter."""
    await setup_alicia(hass, {"approval": "auto"})
    button = {"name": "button", "parameters": {"events": events}}
    await register(hass, {**BUTTON, "capabilities": [button]})
    device = alicia_device(hass, "hall_button")
    assert device is not None

    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, device.id
    )
    ours = [t["type"] for t in triggers if t["domain"] == DOMAIN]
    assert sorted(ours) == sorted(DEFAULT_EVENT_TYPES)
    state = hass.states.get("event.hall_button_button")
    assert state is not None
    assert state.attributes["event_types"] == DEFAULT_EVENT_TYPES
