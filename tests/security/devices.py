"""What the attacks on the integration share: two approved devices and how they send."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from alicia_bus.signing import KeyPair
from tests.integration.helpers import message

VICTIM = "kitchen_sensor"
ATTACKER = "hall_light"
REGISTER = "alicia/system/discovery/register/{}"


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
    return entry.runtime_data.devices[VICTIM].values.get("temperature")
