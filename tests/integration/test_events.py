"""HA events for automations: devices coming and going, voice commands, announcements."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair

from .helpers import SENSOR, VOICE, message, register, send, setup_alicia


async def test_events(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    captured: dict[str, list[Event[Any]]] = {
        kind: async_capture_events(hass, f"alicia_{kind}")
        for kind in (
            "device_registered",
            "device_approved",
            "device_offline",
            "device_online",
            "device_removed",
            "voice_command",
        )
    }
    entry = await setup_alicia(hass)
    hub = entry.runtime_data

    await register(hass, SENSOR)
    assert captured["device_registered"][0].data == {
        "device_id": "kitchen_sensor",
        "name": "Kitchen sensor",
        "device_type": "sensor",
    }
    hub.approvals.approve("kitchen_sensor")
    await hass.async_block_till_done()
    assert captured["device_approved"][0].data["device_id"] == "kitchen_sensor"

    freezer.tick(31)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    await send(
        hass,
        "alicia/system/health/heartbeat",
        "kitchen_sensor",
        {"device_id": "kitchen_sensor", "status": "healthy", "interval": 10},
    )
    freezer.tick(5)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [e.data["device_id"] for e in captured["device_offline"]] == [
        "kitchen_sensor"
    ]
    assert [e.data["device_id"] for e in captured["device_online"]] == [
        "kitchen_sensor"
    ]

    # The app's bridge, approved with its key, answers the kitchen sensor's question.
    bridge = KeyPair.generate()
    topic = "alicia/system/discovery/register/alicia-voice"
    voice = {**VOICE, "public_key": bridge.public_key}
    async_fire_mqtt_message(
        hass, topic, message("alicia-voice", voice, key=bridge, topic=topic)
    )
    await hass.async_block_till_done()
    hub.approvals.approve("alicia-voice")
    topic = "alicia/voice/command/response"
    answer = message(
        "alicia-voice",
        {"transcript": "Is it raining?", "answer": "No.", "language": "en"},
        "response", key=bridge, topic=topic,
        correlation_id="abc", destination="kitchen_sensor",
    )  # fmt: skip
    async_fire_mqtt_message(hass, topic, answer)
    await hass.async_block_till_done()
    assert captured["voice_command"][0].data == {
        "device_id": "kitchen_sensor", "transcript": "Is it raining?", "answer": "No.", "language": "en",
    }  # fmt: skip

    # A restart restores the device without approving it again.
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert "kitchen_sensor" in entry.runtime_data.roster.devices
    assert len(captured["device_approved"]) == 2  # the sensor and the bridge

    await send(
        hass,
        "alicia/system/discovery/unregister",
        "kitchen_sensor",
        {"device_id": "kitchen_sensor"},
    )
    assert captured["device_removed"][0].data == {"device_id": "kitchen_sensor"}
