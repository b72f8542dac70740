"""10,000 random and mutated payloads on every topic the integration subscribes to."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.envelope import new_message
from custom_components.alicia.bus.signing import KeyPair
from tests.fuzz import payloads

from .helpers import LIGHT, SENSOR, message, setup_alicia

TOPICS = [
    "alicia/system/discovery/register", "alicia/system/discovery/register/kitchen_sensor",
    "alicia/system/discovery/capabilities", "alicia/system/discovery/unregister",
    "alicia/system/health/heartbeat", "alicia/devices/kitchen_sensor/status",
    "alicia/devices/kitchen_sensor/data", "alicia/devices/sensors/telemetry",
    "alicia/devices/speakers/announce", "alicia/voice/command/response",
    "alicia/integration/ha/command",
]  # fmt: skip


async def test_fuzz_does_not_break_the_hub(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_alicia(hass, {"approval": "auto"})
    sensor, light = KeyPair.generate(), KeyPair.generate()
    for document, key in ((SENSOR, sensor), (LIGHT, light)):
        topic = f"alicia/system/discovery/register/{document['device_id']}"
        payload = {**document, "public_key": key.public_key}
        async_fire_mqtt_message(
            hass, topic, message(document["device_id"], payload, key=key, topic=topic)
        )
    await hass.async_block_till_done()
    assert set(entry.runtime_data.roster.devices) == {"kitchen_sensor", "hall_light"}

    source = "kitchen_sensor"
    bodies = {
        TOPICS[1]: {**SENSOR, "public_key": sensor.public_key},
        TOPICS[4]: {
            "device_id": source,
            "status": "healthy",
            "metrics": {"cpu_usage": 3},
        },
        TOPICS[5]: {"state": "online"},
        TOPICS[6]: {"values": {"temperature": 20.5, "motion": True}},
        TOPICS[7]: {"device_id": source, "values": {"humidity": 40}},
        TOPICS[8]: {"message": "Hello", "target": {"device_id": source}},
        TOPICS[9]: {"transcript": "hi", "answer": "hello"},
        TOPICS[10]: {"action": "light.turn_on", "target": {"entity_id": "light.x"}},
    }
    examples = {
        topic: sensor.sign(topic, new_message(source, "event", body))
        for topic, body in bodies.items()
    }
    caplog.set_level(logging.ERROR)
    for index, (topic, raw) in enumerate(
        payloads(TOPICS, examples, 10_000, lambda: new_message("fuzzer", "event", {}))
    ):
        async_fire_mqtt_message(hass, topic, raw)
        if index % 500 == 0:
            await hass.async_block_till_done()
    await hass.async_block_till_done()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[:3]

    # Still serving: the other device's signed report gets through.
    hub = entry.runtime_data
    topic = "alicia/devices/hall_light/data"
    async_fire_mqtt_message(
        hass,
        topic,
        message("hall_light", {"values": {"light": "on"}}, key=light, topic=topic),
    )
    await hass.async_block_till_done()
    assert hub.roster.devices["hall_light"].values["light"] == "on"
    # Most reach the parser; data and status of unknown devices are dropped before it.
    assert hub.tally.counters.messages + hub.tally.counters.unknown_device >= 9_000
    assert sum(hub.tally.counters.rejected.values()) > 1_000
