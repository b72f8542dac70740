"""A device's mistakes are answered on the bus, logged and counted, and a flood of them is not."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .helpers import SENSOR, message

REGISTER = "alicia/system/discovery/register/kitchen_sensor"


def answers(mqtt_mock: MqttMockHAClient, topic: str) -> list[dict[str, Any]]:
    return [
        json.loads(c.args[1])
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == topic
    ]


async def send_raw(hass: HomeAssistant, topic: str, raw: str) -> None:
    async_fire_mqtt_message(hass, topic, raw)
    await hass.async_block_till_done()


async def test_unreadable_json_is_answered_on_the_errors_topic(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    await send_raw(hass, REGISTER, "{not json")
    (error,) = answers(mqtt_mock, "alicia/system/errors")
    assert error["payload"]["error"]["code"] == "malformed_json"
    assert error["payload"]["topic"] == REGISTER
    assert error["correlation_id"] == "unknown"


async def test_a_cleared_retained_message_is_no_mistake(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device leaving clears its retained topics; the live removal is not refused."""
    for topic in (REGISTER, "alicia/devices/kitchen_sensor/status"):
        async_fire_mqtt_message(hass, topic, b"", retain=False)
    await hass.async_block_till_done()
    assert answers(mqtt_mock, "alicia/system/errors") == []
    assert "Refused" not in caplog.text


async def test_an_empty_message_elsewhere_is_a_counted_mistake(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """Only retained state may be cleared: an empty data message is refused and counted."""
    async_fire_mqtt_message(hass, "alicia/devices/kitchen_sensor/data", b"")
    await hass.async_block_till_done()
    (error,) = answers(mqtt_mock, "alicia/system/errors")
    assert error["payload"]["error"]["code"] == "malformed_json"
    assert entry.runtime_data.tally.counters.rejected["malformed_json"] == 1


async def test_a_missing_field_is_named_and_answered_to_the_sender(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    document = {k: v for k, v in SENSOR.items() if k != "device_type"}
    text = message(
        "kitchen_sensor",
        document,
        reply_to="alicia/devices/kitchen_sensor/replies/errors",
    )
    await send_raw(hass, REGISTER, text)
    (error,) = answers(mqtt_mock, "alicia/devices/kitchen_sensor/replies/errors")
    assert error["payload"]["error"] == {
        "code": "missing_field",
        "message": "payload.device_type is required",
    }
    assert error["correlation_id"] == json.loads(text)["message_id"]
    assert error["destination"] == "kitchen_sensor"


async def test_a_bare_capability_document_is_told_to_use_the_envelope(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    await send_raw(hass, REGISTER, json.dumps(SENSOR))
    (error,) = answers(mqtt_mock, "alicia/system/errors")
    assert error["payload"]["error"]["code"] == "unsupported_protocol"
    assert "payload of an envelope" in error["payload"]["error"]["message"]


async def test_every_mistake_counts_and_a_flood_is_not_answered_in_full(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    for _ in range(3):  # a device maker trying again: each attempt is answered
        await send_raw(hass, REGISTER, "{not json")
    assert len(answers(mqtt_mock, "alicia/system/errors")) == 3
    for _ in range(200):
        async_fire_mqtt_message(hass, REGISTER, "{still not json")
    await hass.async_block_till_done()
    assert len(answers(mqtt_mock, "alicia/system/errors")) <= 10
    audit = entry.runtime_data.admission.audit
    assert audit.counts["malformed_json"] >= 5  # what was answered was counted
    assert audit.refused == sum(audit.counts.values())


async def test_hostile_ids_and_reply_topics_are_not_echoed(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    text = message(
        "kitchen_sensor", {"device_id": "kitchen_sensor"},
        reply_to="alicia/devices/kitchen_sensor/replies/\\ud800", message_id="\\udfff",
    ).replace("\\\\u", "\\u")  # fmt: skip
    await send_raw(hass, REGISTER, text)
    (error,) = answers(mqtt_mock, "alicia/system/errors")  # not the hostile topic
    assert error["correlation_id"] == "unknown"


async def test_a_flood_from_forged_senders_is_not_answered_in_full(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Each forged source has a fresh bucket: the answers need a bound of their own."""
    for number in range(300):
        source = f"forged_{number}"
        heartbeat = message(source, {"device_id": source, "status": "healthy"})
        async_fire_mqtt_message(hass, "alicia/system/health/heartbeat", heartbeat)
    await hass.async_block_till_done()
    assert len(answers(mqtt_mock, "alicia/system/errors")) <= 60
    assert caplog.text.count("Refused a message from forged_") <= 60
    assert entry.runtime_data.tally.counters.unknown_device == 300  # every one counted
