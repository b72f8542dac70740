"""A signed last will marks its device offline at once; an old will replayed does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.bus.status import Status
from tests.integration.helpers import message

from .devices import VICTIM, publish

TOPIC = f"alicia/devices/{VICTIM}/status"


def status(key: KeyPair, payload: dict[str, str], minutes_ago: float = 0) -> str:
    sent = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return message(VICTIM, payload, key=key, topic=TOPIC, timestamp=sent)


async def say(hass: HomeAssistant, text: str) -> None:
    publish(hass, TOPIC, text)
    await hass.async_block_till_done()


async def test_the_current_will_counts_once_and_old_ones_never(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    device, key = entry.runtime_data.roster.devices[VICTIM], keys[VICTIM]
    old_will = status(key, {"state": "offline", "session": "s1"}, minutes_ago=30)
    await say(hass, status(key, {"state": "online", "session": "s2"}))
    await say(hass, old_will)  # a will of an earlier connection, replayed
    assert not device.offline
    will = status(key, {"state": "offline", "session": "s2"}, minutes_ago=10)
    await say(hass, will)  # the broker sends it: the device is gone
    assert device.offline
    await say(hass, status(key, {"state": "online", "session": "s3"}))
    await say(hass, will)  # the same will again, after the device came back
    assert not device.offline


async def test_a_will_not_signed_by_the_device_does_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    device = entry.runtime_data.roster.devices[VICTIM]
    await say(hass, status(keys[VICTIM], {"state": "online", "session": "s2"}))
    forged = status(KeyPair.generate(), {"state": "offline", "session": "s2"}, 10)
    await say(hass, forged)
    await say(hass, message(VICTIM, {"state": "offline", "session": "s2"}))
    assert not device.offline


async def test_a_status_that_is_no_status_changes_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    device, key = entry.runtime_data.roster.devices[VICTIM], keys[VICTIM]
    await say(hass, status(key, Status(True, "s2").to_payload()))
    await say(hass, status(key, {"state": "sleeping"}))
    await say(hass, status(key, {"state": "offline", "session": "Not an id!"}))
    assert not device.offline
    assert device.session == "s2"
