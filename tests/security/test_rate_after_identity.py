"""A flood forged in an approved device's name: the device keeps its whole rate at HA."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from alicia_bus.signing import KeyPair
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
