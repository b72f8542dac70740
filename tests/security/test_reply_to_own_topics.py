"""A requester's reply_to naming its own contract topics: neither answering side publishes there.

A device's config, command and status are retained state others send it; a reply_to
there would have Home Assistant or the bridge overwrite them (and the broker's ACL
lets a service write only a device's replies/...).
"""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.envelope import new_message
from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import message

from .bridge_unit import AI, DEVICE, driven
from .devices import ATTACKER, COMMAND, publish

LEAVES = ["config", "command", "status", "data", "satellite/event", "answers"]


@pytest.mark.parametrize("leaf", LEAVES)
async def test_the_bridge_answers_nothing_onto_a_requesters_own_topic(
    tmp_path: Path, leaf: str
) -> None:
    """The approved device's own signed request, aimed at its own config: refused."""
    bus = driven(tmp_path)
    own = f"alicia/devices/kitchen_satellite/{leaf}"
    request = new_message("kitchen_satellite", "request", {"text": "Hi"}, reply_to=own)
    await bus.deliver(AI, DEVICE.sign(AI, request))
    assert bus.on(own) == []
    assert [topic for topic, _ in bus.published] == ["alicia/voice/ai/response"]
    (error,) = bus.on("alicia/voice/ai/response")
    assert error["payload"]["error"]["code"] == "invalid_field"
    assert "alicia/devices/kitchen_satellite/replies/" in str(error["payload"])
    assert bus.served == []


@pytest.mark.parametrize("leaf", LEAVES)
async def test_home_assistant_answers_nothing_onto_a_requesters_own_topic(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    leaf: str,
) -> None:
    """An approved device's signed ha/command, answered on its own config: refused."""
    own = f"alicia/devices/{ATTACKER}/{leaf}"
    payload = {"action": "light.turn_on", "target": {"entity_id": "light.x"}}
    text = message(
        ATTACKER, payload, "request", key=keys[ATTACKER], topic=COMMAND, reply_to=own
    )
    mqtt_mock.async_publish.reset_mock()
    publish(hass, COMMAND, text)
    await hass.async_block_till_done()
    sent = [(c.args[0], c.args[1]) for c in mqtt_mock.async_publish.call_args_list]
    assert [topic for topic, _ in sent] == ["alicia/system/errors"]
    error = json.loads(sent[0][1])["payload"]["error"]
    assert error["code"] == "invalid_field"
    assert f"alicia/devices/{ATTACKER}/replies/" in error["message"]


async def test_home_assistant_answers_into_a_requesters_replies(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    inbox = f"alicia/devices/{ATTACKER}/replies/ha"
    payload = {"action": "light.turn_on", "target": {"entity_id": "light.x"}}
    text = message(
        ATTACKER, payload, "request", key=keys[ATTACKER], topic=COMMAND, reply_to=inbox
    )
    mqtt_mock.async_publish.reset_mock()
    publish(hass, COMMAND, text)
    await hass.async_block_till_done()
    topics = [c.args[0] for c in mqtt_mock.async_publish.call_args_list]
    assert topics == [inbox]
