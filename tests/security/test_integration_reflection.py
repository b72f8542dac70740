"""Reflection through error replies: what a sender wrote comes back bounded, and only to it (#25, 4)."""

from __future__ import annotations

import json
import logging
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
import voluptuous as vol

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import message

from .devices import ATTACKER, COMMAND, REGISTER, VICTIM, publish

HUGE = "A" * 60_000
# Far above what a bounded excerpt and the error's own words take.
BOUND = 2_000


def largest_publish(mqtt_mock: MqttMockHAClient) -> int:
    return max(
        (len(c.args[1]) for c in mqtt_mock.async_publish.call_args_list), default=0
    )


def largest_log_line(caplog: pytest.LogCaptureFixture) -> int:
    """Alicia's own lines (HA's MQTT debug log shows every message it receives)."""
    return max(
        (
            len(r.getMessage())
            for r in caplog.records
            if r.name.startswith("custom_components.alicia")
        ),
        default=0,
    )


@pytest.mark.parametrize(
    ("topic", "payload", "changes"),
    [
        (REGISTER.format(ATTACKER), {}, {"protocol": HUGE}),
        (
            "alicia/system/health/heartbeat",
            {"device_id": ATTACKER, "status": "healthy", "metrics": {HUGE: -1}},
            {},
        ),
        (f"alicia/devices/{HUGE}/data", {"values": {}}, {}),
        (
            "alicia/devices/speakers/announce",
            {"message": "hi", "target": {"location": HUGE}},
            {"message_type": "request"},
        ),
    ],
    ids=["protocol", "metrics-key", "topic", "announce-location"],
)
async def test_a_huge_value_is_not_reflected(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
    topic: str,
    payload: dict[str, Any],
    changes: dict[str, Any],
) -> None:
    text = message(ATTACKER, payload, key=keys[ATTACKER], topic=topic, **changes)
    mqtt_mock.async_publish.reset_mock()
    caplog.clear()
    publish(hass, topic, text)
    await hass.async_block_till_done()
    assert mqtt_mock.async_publish.call_count <= 1  # one answer at most, never a copy
    assert largest_publish(mqtt_mock) < BOUND
    assert largest_log_line(caplog) < BOUND
    assert len(repr(entry.runtime_data.admission.audit.last)) < BOUND  # diagnostics


async def test_ha_refusing_a_huge_data_key_is_not_reflected(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})

    hass.states.async_set("light.kitchen", "off")
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    # An action with a schema, as HA's own are: it refuses keys it does not know.
    hass.services.async_register(
        "light", "turn_on", lambda call: None, schema=vol.Schema({"entity_id": list})
    )
    payload = {
        "action": "light.turn_on",
        "target": {"entity_id": "light.kitchen"},
        "data": {HUGE: 1},
    }
    mqtt_mock.async_publish.reset_mock()
    publish(
        hass,
        COMMAND,
        message(ATTACKER, payload, "request", key=keys[ATTACKER], topic=COMMAND),
    )
    await hass.async_block_till_done()
    (answer,) = [json.loads(c.args[1]) for c in mqtt_mock.async_publish.call_args_list]
    assert answer["payload"]["status"] == "refused"
    assert largest_publish(mqtt_mock) < BOUND
    assert largest_log_line(caplog) < BOUND


async def test_an_error_is_not_sent_into_a_victims_namespace_in_its_name(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    victims = f"alicia/devices/{VICTIM}/replies/command"
    broken = {"device_id": VICTIM}  # no device_type: an error to answer
    topic = REGISTER.format(VICTIM)
    mqtt_mock.async_publish.reset_mock()
    # Unsigned, and signed by another key: not the victim's word.
    publish(hass, topic, message(VICTIM, broken, reply_to=victims))
    forged = message(VICTIM, broken, reply_to=victims, key=keys[ATTACKER], topic=topic)
    publish(hass, topic, forged)
    await hass.async_block_till_done()
    topics = [c.args[0] for c in mqtt_mock.async_publish.call_args_list]
    assert victims not in topics
    assert topics == ["alicia/system/errors"] * 2
    # The victim's own mistake, signed, is answered where it asked.
    mine = f"alicia/devices/{VICTIM}/replies/errors"
    publish(
        hass,
        topic,
        message(VICTIM, broken, reply_to=mine, key=keys[VICTIM], topic=topic),
    )
    await hass.async_block_till_done()
    assert mqtt_mock.async_publish.call_args.args[0] == mine


async def test_forged_telemetry_with_a_mistyped_id_logs_no_traceback(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A list for device_id, from a new forged sender each time: refused, no ERROR, bounded."""
    caplog.set_level(logging.WARNING)
    for index in range(20):
        text = message(f"forged{index}", {"device_id": [HUGE], "values": {}})
        publish(hass, "alicia/devices/sensors/telemetry", text)
    await hass.async_block_till_done()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Every logger's lines, HA's MQTT client's included: none quotes the payload.
    assert max((len(r.getMessage()) for r in caplog.records), default=0) < BOUND
    assert entry.runtime_data.tally.counters.rejected["invalid_field"] == 20
