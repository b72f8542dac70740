"""Entities of each kind: a speaker, a remote, a colour light; telemetry; rejecting a device."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
from syrupy.assertion import SnapshotAssertion

from custom_components.alicia.const import DOMAIN

from .helpers import approval_flows, decide, register, send, setup_alicia

SPEAKER: dict[str, Any] = {
    "device_id": "sonos_kitchen_001",
    "device_type": "speaker",
    "name": "Kitchen speaker",
    "capabilities": [
        "audio_playback",
        {"name": "volume_control", "parameters": {"min": 0, "max": 100}},
        "group_management",
    ],
    "metadata": {
        "manufacturer": "Sonos",
        "model": "One",
        "location": "kitchen",
        "version": "1.0.0",
    },
}
REMOTE: dict[str, Any] = {
    "device_id": "hall_remote",
    "device_type": "controller",
    "name": "Hall remote",
    "capabilities": [
        {"name": "button", "parameters": {"events": ["press", "long_press"]}},
        "battery",
    ],
    "via_device": "zigbee_hub",
}
HUB: dict[str, Any] = {
    "device_id": "zigbee_hub",
    "device_type": "controller",
    "name": "Zigbee hub",
    "capabilities": [],
}
COLOUR: dict[str, Any] = {
    "device_id": "lamp",
    "device_type": "actuator",
    "name": "Lamp",
    "capabilities": [
        {"name": "light", "parameters": {"color": True, "color_temp": True}},
        "relay",
        "temperature",
    ],
}


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices are approved as they register."""
    return {"approval": "auto"}


def entity(hass: HomeAssistant, domain: str, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None
    return found


async def test_speaker_volume(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    await register(hass, SPEAKER)
    await send(
        hass,
        "alicia/devices/sonos_kitchen_001/data",
        "sonos_kitchen_001",
        {"values": {"volume_control": 35}},
    )
    # A speaker's volume is its media player's, not a number of its own.
    speaker = entity(hass, "media_player", "sonos_kitchen_001_speaker")
    assert hass.states.get(speaker).attributes["volume_level"] == 0.35  # type: ignore[union-attr]
    assert not er.async_get(hass).async_get_entity_id(
        "number", DOMAIN, "sonos_kitchen_001_volume_control"
    )
    await hass.services.async_call(
        "media_player",
        "volume_set",
        {"entity_id": speaker, "volume_level": 0.6},
        blocking=True,
    )
    sent = json.loads(mqtt_mock.async_publish.call_args.args[1])
    assert sent["payload"] == {
        "capability": "volume_control",
        "action": "set",
        "params": {"value": 60.0},
    }
    # Descriptive capabilities are known, so no repair issue.
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]


async def test_remote_behind_a_hub_fires_events_through_telemetry(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, HUB)
    await register(hass, REMOTE, source="zigbee_hub")  # a hub registers its child
    device = entry.runtime_data.roster.devices["hall_remote"]
    assert device.via_device == "zigbee_hub"
    event = entity(hass, "event", "hall_remote_button")
    for _ in range(2):  # the same press twice is two events
        await send(
            hass,
            "alicia/devices/sensors/telemetry",
            "zigbee_hub",
            {"device_id": "hall_remote", "values": {"button": "press"}},
        )
    state = hass.states.get(event)
    assert state is not None
    assert state.attributes["event_type"] == "press"
    assert state.attributes["event_types"] == ["press", "long_press"]
    await send(
        hass,
        "alicia/devices/sensors/telemetry",
        "zigbee_hub",
        {"device_id": "hall_remote", "values": {"button": "long_press"}},
    )
    assert hass.states.get(event).attributes["event_type"] == "long_press"  # type: ignore[union-attr]
    # Telemetry from a stranger for the remote is refused.
    before = entry.runtime_data.tally.counters.unknown_device
    await send(
        hass,
        "alicia/devices/sensors/telemetry",
        "intruder",
        {"device_id": "hall_remote", "values": {"button": "press"}},
    )
    assert entry.runtime_data.tally.counters.unknown_device == before + 1


async def test_colour_light_and_snapshot(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    snapshot: SnapshotAssertion,
) -> None:
    await register(hass, COLOUR)
    await send(hass, "alicia/devices/lamp/data", "lamp", {"values": {
        "light": {"state": "on", "brightness": 200, "rgb_color": [255, 120, 0]}, "relay": "on", "temperature": 23.25,
    }})  # fmt: skip
    light = entity(hass, "light", "lamp_light")
    state = hass.states.get(light)
    assert state is not None
    assert state.attributes["color_mode"] == "rgb"
    assert state.attributes["rgb_color"] == (255, 120, 0)
    assert state.attributes["brightness"] == 200
    await hass.services.async_call(
        "light",
        "turn_on",
        {"entity_id": light, "rgb_color": [0, 0, 255]},
        blocking=True,
    )
    assert json.loads(mqtt_mock.async_publish.call_args.args[1])["payload"][
        "params"
    ] == {"rgb_color": [0, 0, 255]}
    await hass.services.async_call(
        "light", "turn_off", {"entity_id": light}, blocking=True
    )
    assert (
        json.loads(mqtt_mock.async_publish.call_args.args[1])["payload"]["action"]
        == "turn_off"
    )

    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    states = {
        e.unique_id: {"state": s.state, "attributes": dict(s.attributes)}
        for e in sorted(entries, key=lambda e: e.unique_id)
        if e.unique_id.startswith("lamp_")
        and (s := hass.states.get(e.entity_id)) is not None
    }
    assert states == snapshot


async def test_rejecting_a_pending_device(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_alicia(hass)
    await register(hass, SPEAKER)
    result = await decide(hass, "sonos_kitchen_001", "reject_device")
    assert (result["type"], result["reason"]) == ("abort", "device_refused")
    assert "sonos_kitchen_001" not in entry.runtime_data.approvals.pending
    assert approval_flows(hass) == []
