"""A device removed leaves nothing on the broker for the next holder of its id, however it went."""

from __future__ import annotations

from typing import Any

from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import DOMAIN

from .helpers import LIGHT, SENSOR, alicia_device, device_key, message, register_keyed

REGISTER = "alicia/system/discovery/register/{}"
CONFIG = "alicia/devices/{}/config"
UNREGISTER = "alicia/system/discovery/unregister"
HUB = LIGHT["device_id"]
CHILD = "hall_remote"
REMOTE: dict[str, Any] = {
    "device_id": CHILD, "device_type": "sensor", "name": "Hall remote",
    "capabilities": ["temperature"], "via_device": HUB,
}  # fmt: skip


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices approved as they register: what the broker keeps could bring one back."""
    return {"approval": "auto"}


async def configure(hass: HomeAssistant, device_id: str) -> None:
    """The user sends the device a secret through alicia.configure_device."""
    device = alicia_device(hass, device_id)
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "configure_device",
        {"device_id": device.id, "settings": {"wifi_password": "hunter2"}},
        blocking=True,
    )  # fmt: skip


async def unregister(hass: HomeAssistant, sender: str, device_id: str) -> None:
    """sender unregisters device_id, signed with sender's key."""
    text = message(
        sender, {"device_id": device_id}, key=device_key(sender), topic=UNREGISTER
    )
    async_fire_mqtt_message(hass, UNREGISTER, text)
    await hass.async_block_till_done()


def cleared(mqtt_mock: MqttMockHAClient) -> set[str]:
    """The topics HA cleared (an empty retained message)."""
    return {
        c.args[0]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[1:4] == (b"", 1, True)
    }


async def test_a_device_unregistering_itself_leaves_no_settings_retained(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """The attack: its Wi-Fi password stayed retained, read and applied by the next holder of its id."""
    await register_keyed(hass, SENSOR)
    await configure(hass, "kitchen_sensor")
    mqtt_mock.async_publish.reset_mock()
    await unregister(hass, "kitchen_sensor", "kitchen_sensor")
    assert "kitchen_sensor" not in entry.runtime_data.roster.devices
    # Its own registration it clears itself (HA's clear could erase a newer one).
    assert cleared(mqtt_mock) == {CONFIG.format("kitchen_sensor")}


@pytest.mark.parametrize("leaving", [CHILD, HUB], ids=["its-child", "itself"])
async def test_a_hub_unregistering_leaves_no_settings_of_its_child_retained(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    leaving: str,
) -> None:
    """The attack: the child's settings stayed retained; the child cannot clear them, nor its registration."""
    await register_keyed(hass, LIGHT)
    topic = REGISTER.format(CHILD)
    registration = message(HUB, REMOTE, key=device_key(HUB), topic=topic)
    async_fire_mqtt_message(hass, topic, registration)
    await hass.async_block_till_done()
    await configure(hass, CHILD)
    mqtt_mock.async_publish.reset_mock()
    await unregister(hass, HUB, leaving)
    assert CHILD not in entry.runtime_data.roster.devices
    assert {CONFIG.format(CHILD), REGISTER.format(CHILD)} <= cleared(mqtt_mock)


async def test_a_removal_mqtt_did_not_take_is_not_undone_by_a_restart(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """The attack: HA restarting before MQTT was back forgot the clear; the broker's copy approved the device again."""
    topic = REGISTER.format("kitchen_sensor")
    retained = message("kitchen_sensor", SENSOR)
    async_fire_mqtt_message(hass, topic, retained, retain=True)
    await hass.async_block_till_done()
    assert alicia_device(hass, "kitchen_sensor") is not None
    mqtt_mock.async_publish.side_effect = HomeAssistantError("not connected")
    entry.runtime_data.approvals.remove("kitchen_sensor")  # the user's removal
    await hass.async_block_till_done()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    mqtt_mock.async_publish.reset_mock(side_effect=True)
    # The broker, back, sends the copy it holds before HA hears it is connected.
    async_fire_mqtt_message(hass, topic, retained, retain=True)
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert alicia_device(hass, "kitchen_sensor") is None
    assert "kitchen_sensor" not in entry.runtime_data.approvals.pending
    assert {topic, CONFIG.format("kitchen_sensor")} <= cleared(mqtt_mock)
