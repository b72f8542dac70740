"""The entry's life: a device is removed only while Alicia holds it, a save that fails does not stop an unload."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

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
