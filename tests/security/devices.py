"""What the attacks on the integration share: two approved devices and how they send."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import message

VICTIM = "kitchen_sensor"
ATTACKER = "hall_light"
REGISTER = "alicia/system/discovery/register/{}"
COMMAND = "alicia/integration/ha/command"


def publish(hass: HomeAssistant, topic: str, text: str, retain: bool = False) -> None:
    async_fire_mqtt_message(hass, topic, text, retain=retain)


async def register_signed(
    hass: HomeAssistant,
    document: dict[str, Any],
    key: KeyPair,
    source: str | None = None,
    offer: KeyPair | None = None,
) -> None:
    """A registration signed with key, offering `offer` (default: key) as the device's key."""
    topic = REGISTER.format(document["device_id"])
    payload = {**document, "public_key": (offer or key).public_key}
    publish(
        hass,
        topic,
        message(source or document["device_id"], payload, key=key, topic=topic),
    )
    await hass.async_block_till_done()


async def data(
    hass: HomeAssistant, device: str, source: str, key: KeyPair | None, value: float
) -> None:
    topic = f"alicia/devices/{device}/data"
    text = message(source, {"values": {"temperature": value}}, key=key, topic=topic)
    publish(hass, topic, text)
    await hass.async_block_till_done()


def victim_temperature(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.roster.devices[VICTIM].values.get("temperature")


async def send_command(
    hass: HomeAssistant, keys: dict[str, KeyPair], action: str, entity_ids: Any
) -> None:
    """The attacker, signed as itself, asks HA for action on entity_ids."""
    payload = {"action": action, "target": {"entity_id": entity_ids}}
    text = message(ATTACKER, payload, "request", key=keys[ATTACKER], topic=COMMAND)
    publish(hass, COMMAND, text)
    await hass.async_block_till_done()


def published(mqtt_mock: MqttMockHAClient, topic: str) -> list[dict[str, Any]]:
    """Every message HA published on topic, parsed."""
    return [
        json.loads(c.args[1])
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == topic
    ]


def command_answers(mqtt_mock: MqttMockHAClient) -> list[dict[str, Any]]:
    """The payloads of HA's answers to ha/command requests."""
    return [m["payload"] for m in published(mqtt_mock, f"{COMMAND}/response")]
