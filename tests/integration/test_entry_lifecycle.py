"""The entry's life: a device is removed only while Alicia holds it, a save that fails does not stop an unload."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia import async_remove_config_entry_device

from .helpers import SENSOR, alicia_device, register


@pytest.fixture
async def approved(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """The entry with the kitchen sensor approved."""
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    return entry


async def test_a_device_is_not_removed_while_alicia_is_unloaded(
    hass: HomeAssistant, approved: MockConfigEntry
) -> None:
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    assert await hass.config_entries.async_unload(approved.entry_id)
    with pytest.raises(HomeAssistantError, match="not loaded"):
        await async_remove_config_entry_device(hass, approved, device)


async def test_an_unload_ends_though_the_save_fails(
    hass: HomeAssistant, approved: MockConfigEntry
) -> None:
    store = approved.runtime_data.store
    failing = TypeError("Integer exceeds 64-bit range")
    with patch.object(store, "async_save", side_effect=failing):
        assert await hass.config_entries.async_unload(approved.entry_id)
    assert approved.state is ConfigEntryState.NOT_LOADED


async def test_a_removal_while_mqtt_is_down_clears_the_retained_registration_later(
    hass: HomeAssistant, approved: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """Else the broker's copy would bring the device the user removed back."""
    topic = "alicia/system/discovery/register/kitchen_sensor"
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    mqtt_mock.async_publish.side_effect = HomeAssistantError("not connected")
    assert await async_remove_config_entry_device(hass, approved, device)
    await hass.async_block_till_done()
    mqtt_mock.async_publish.reset_mock(side_effect=True)

    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    cleared = [
        c.args for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic
    ]
    assert cleared == [(topic, b"", 1, True)]
