"""Saving options applies them in place: nothing flaps, nothing is forgotten."""

from __future__ import annotations

from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
)

from custom_components.alicia.const import DOMAIN

from .helpers import SENSOR, register, send


async def save_options(
    hass: HomeAssistant, entry: MockConfigEntry, **changes: object
) -> None:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"approval": "auto", "heartbeat_factor": 3.0, "stale_days": 30} | changes,
    )
    await hass.async_block_till_done()


@pytest.mark.parametrize("entry_options", [{"approval": "auto"}])
async def test_saving_options_keeps_states_permit_and_counters(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    hub = entry.runtime_data
    await register(hass, SENSOR)
    await send(
        hass,
        "alicia/devices/kitchen_sensor/data",
        "kitchen_sensor",
        {"values": {"temperature": 21.5}},
    )
    permit = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{entry.entry_id}_permit"
    )
    assert permit is not None
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": permit}, blocking=True
    )
    async_fire_mqtt_message(hass, "alicia/system/discovery/register/x", "not json")
    await hass.async_block_till_done()
    refused = dict(hub.tally.counters.rejected)
    assert refused
    changes = async_capture_events(hass, "state_changed")

    await save_options(hass, entry, heartbeat_factor=4.0, stale_days=10)

    assert entry.runtime_data is hub
    assert hub.roster.heartbeat_factor == 4.0
    assert hub.tally.counters.rejected == refused
    hass_states = [e.data["new_state"] for e in changes]
    assert all(s is None or s.state != STATE_UNAVAILABLE for s in hass_states)
    temperature = next(
        s
        for s in hass.states.async_all("sensor")
        if s.entity_id.endswith("temperature")
    )
    assert temperature.state == "21.5"
    state = hass.states.get(permit)
    assert state is not None
    assert state.state == STATE_ON


async def test_a_new_security_mode_applies_without_reload(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    hub = entry.runtime_data
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "security_mode": "enforce"}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data is hub
    assert str(hub.admission.mode) == "enforce"
