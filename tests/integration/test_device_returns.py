"""A device dropped from HA (removed by the user, or unregistered) gets its entities again when it returns."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia import async_remove_config_entry_device
from custom_components.alicia.const import DOMAIN

from .helpers import SENSOR, alicia_device, register, send


def entities(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    """The kitchen sensor's entities with a state (alive, not only registered): unique ids."""
    registry = er.async_get(hass)
    return {
        e.unique_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.startswith("kitchen_sensor")
        and hass.states.get(e.entity_id) is not None
    }


def duplicates(caplog: pytest.LogCaptureFixture) -> list[str]:
    """HA's complaints of an entity made twice."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and "unique" in r.getMessage().lower()
    ]


async def test_a_device_the_user_removed_gets_its_entities_when_approved_again(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Removed in HA's device page, it registers again and is approved (permit window)."""
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    made = entities(hass, entry)
    assert "kitchen_sensor_temperature" in made
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    assert await async_remove_config_entry_device(hass, entry, device)
    await hass.async_block_till_done()
    assert not entities(hass, entry)

    await register(hass, SENSOR)

    assert "kitchen_sensor" in entry.runtime_data.roster.devices
    assert entities(hass, entry) == made
    # Registering again while it stays makes none twice.
    await register(hass, {**SENSOR, "name": "Kitchen sensor 2"})
    assert entities(hass, entry) == made
    assert not duplicates(caplog)


async def test_a_device_that_unregistered_gets_its_entities_when_it_returns(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A factory reset: it unregisters itself, then registers as it was."""
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    made = entities(hass, entry)
    await send(
        hass, "alicia/system/discovery/unregister", "kitchen_sensor",
        {"device_id": "kitchen_sensor"},
    )  # fmt: skip
    assert not entities(hass, entry)

    await register(hass, SENSOR)

    assert "kitchen_sensor" in entry.runtime_data.roster.devices
    assert entities(hass, entry) == made
    temperature = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, "kitchen_sensor_temperature"
    )
    assert temperature is not None
    await send(
        hass, "alicia/devices/kitchen_sensor/data", "kitchen_sensor",
        {"values": {"temperature": 21.5}},
    )  # fmt: skip
    state = hass.states.get(temperature)
    assert state is not None
    assert state.state == "21.5"
    await register(hass, SENSOR)
    assert entities(hass, entry) == made
    assert not duplicates(caplog)
