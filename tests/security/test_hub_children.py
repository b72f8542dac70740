"""A device registered through a hub is spoken for by that hub's key: nobody speaks unsigned in its name."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import message

from .devices import ATTACKER, REGISTER, publish, published

HUB = ATTACKER  # an approved device with a key, registering a child behind itself
CHILD = "hall_remote"


async def child_of_the_hub(hass: HomeAssistant, hub_key: KeyPair) -> None:
    """The hub registers CHILD through itself (a child carries no key of its own)."""
    document = {
        "device_id": CHILD, "device_type": "sensor", "name": "Hall remote",
        "capabilities": ["temperature"], "via_device": HUB,
    }  # fmt: skip
    topic = REGISTER.format(CHILD)
    publish(hass, topic, message(HUB, document, key=hub_key, topic=topic))
    await hass.async_block_till_done()


async def reading(
    hass: HomeAssistant, source: str, key: KeyPair | None, value: float
) -> None:
    """A temperature on the child's topic, from source, signed with key (None: unsigned)."""
    topic = f"alicia/devices/{CHILD}/data"
    payload: dict[str, Any] = {"values": {"temperature": value}}
    publish(hass, topic, message(source, payload, key=key, topic=topic))
    await hass.async_block_till_done()


def temperature(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.roster.devices[CHILD].values.get("temperature")


async def test_nobody_speaks_unsigned_as_a_hubs_child(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    """Verify mode: an unsigned message in the child's name is refused; its hub's are taken."""
    await child_of_the_hub(hass, keys[HUB])
    assert CHILD in entry.runtime_data.roster.devices
    await reading(hass, HUB, keys[HUB], 21.5)  # the hub speaks for it
    assert temperature(entry) == 21.5
    await reading(hass, CHILD, None, 99.0)  # anyone on the broker, as the child
    await reading(hass, CHILD, KeyPair.generate(), 98.0)  # with a key of its own
    assert temperature(entry) == 21.5
    await reading(hass, CHILD, keys[HUB], 22.0)  # in its name, signed by its hub
    assert temperature(entry) == 22.0


async def test_the_bridges_hear_the_child_is_spoken_for_by_its_hub(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """The trust list gives the child its hub's key: the bridge holds it to the same rule."""
    await child_of_the_hub(hass, keys[HUB])
    await hass.async_block_till_done()
    trust = published(mqtt_mock, "alicia/system/security/trust")[-1]["payload"]
    assert trust["devices"][CHILD] == keys[HUB].public_key
