"""A flood forged in an approved device's name: the device keeps its whole rate at HA."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import message

from .devices import VICTIM, data, publish, victim_temperature


async def test_a_forged_flood_in_a_devices_name_does_not_starve_it(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    forger = KeyPair.generate()
    topic = f"alicia/devices/{VICTIM}/data"
    for value in range(200):
        publish(
            hass,
            topic,
            message(
                VICTIM, {"values": {"temperature": value}}, key=forger, topic=topic
            ),
        )
        publish(
            hass,
            topic,
            message(VICTIM, {"values": {"temperature": value}}, topic=topic),
        )
    await hass.async_block_till_done()
    assert victim_temperature(entry) is None
    counts = entry.runtime_data.admission.audit.counts
    assert counts["bad_signature"] == 200
    assert counts["unsigned"] == 200
    assert counts["rate_limited"] == 0
    await data(hass, VICTIM, VICTIM, keys[VICTIM], 21.5)
    assert victim_temperature(entry) == 21.5


async def test_forged_mistakes_in_a_devices_name_do_not_silence_its_answers(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    topic = f"alicia/devices/{VICTIM}/data"
    # No such message type: the message cannot be read.
    for _ in range(20):  # unsigned, in the victim's name
        text = message(VICTIM, {"values": {}}, "shout", topic=topic)
        publish(hass, topic, text)
    await hass.async_block_till_done()
    genuine = json.loads(
        message(VICTIM, {"values": {}}, "shout", key=keys[VICTIM], topic=topic)
    )
    publish(hass, topic, json.dumps(genuine))
    await hass.async_block_till_done()
    answers = [
        json.loads(call.args[1])
        for call in mqtt_mock.async_publish.call_args_list
        if b'"correlation_id"' in call.args[1]
    ]
    assert genuine["message_id"] in [a.get("correlation_id") for a in answers]
