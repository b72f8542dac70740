"""HA's clock set back (it was ahead): a device's words since still count, its old ones replayed still do not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import SENSOR, message

from .devices import REGISTER, VICTIM, publish

STATUS = f"alicia/devices/{VICTIM}/status"


def signed(key: KeyPair, topic: str, payload: dict[str, Any], age: float) -> str:
    """The device's own message, signed, sent age seconds ago."""
    sent = (datetime.now(UTC) - timedelta(seconds=age)).isoformat()
    return message(VICTIM, payload, key=key, topic=topic, timestamp=sent)


def registration(key: KeyPair, name: str, age: float = 0) -> str:
    payload = {**SENSOR, "public_key": key.public_key, "name": name}
    return signed(key, REGISTER.format(VICTIM), payload, age)


def status(key: KeyPair, state: str, session: str, age: float = 0) -> str:
    return signed(key, STATUS, {"state": state, "session": session}, age)


def forward() -> Callable[[], float]:
    """time.monotonic, never set back: as in life, not as freezegun moves it with the wall clock."""
    latest = time.monotonic()

    def clock() -> float:
        nonlocal latest
        latest = max(latest, time.monotonic())
        return latest

    return clock


async def approved_ahead(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> tuple[KeyPair, datetime]:
    """The device approved (online, session s1) while HA's clock is 4 years ahead; its key and the right time."""
    key = KeyPair.generate()
    entry.runtime_data.admission.gate.limiter.clock = forward()
    right = datetime.now(UTC)
    freezer.move_to(right + timedelta(days=4 * 365))
    entry.runtime_data.approvals.set_permit(True)
    publish(hass, REGISTER.format(VICTIM), registration(key, "Kitchen sensor"))
    publish(hass, STATUS, status(key, "online", "s1"))
    await hass.async_block_till_done()
    entry.runtime_data.approvals.set_permit(False)
    return key, right


async def test_a_device_is_heard_after_hass_clock_is_set_back(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Four years ahead, then NTP sets HA's and the device's clocks right: what comes after counts."""
    key, right = await approved_ahead(hass, entry, freezer)
    device = entry.runtime_data.roster.devices[VICTIM]

    freezer.move_to(right + timedelta(minutes=1))
    # Each a second in flight: sent before HA reads it.
    publish(hass, REGISTER.format(VICTIM), registration(key, "Kitchen sensor 2", 1))
    publish(hass, STATUS, status(key, "online", "s2", 1))
    will = status(key, "offline", "s2", 1)  # signed as it connected
    await hass.async_block_till_done()

    assert device.name == "Kitchen sensor 2"
    assert device.session == "s2"
    # Its words since the clock was set right, sent before those, replayed: ignored.
    publish(
        hass, REGISTER.format(VICTIM), registration(key, "Old name", 10), retain=True
    )
    publish(hass, STATUS, status(key, "online", "s1", 10), retain=True)
    await hass.async_block_till_done()
    assert device.name == "Kitchen sensor 2"
    assert device.session == "s2"
    freezer.tick(60)  # it dies: the broker sends its will
    publish(hass, STATUS, will)
    await hass.async_block_till_done()
    assert device.offline is True


async def test_words_signed_while_the_clocks_were_ahead_are_not_replayed_after(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """HA and the device both ahead (one bad NTP server): what an eavesdropper kept of then stays refused."""
    key, right = await approved_ahead(hass, entry, freezer)
    kept_name, kept_offline = registration(key, "Then"), status(key, "offline", "s1")
    freezer.move_to(right + timedelta(minutes=1))
    publish(hass, REGISTER.format(VICTIM), registration(key, "Now", 1))
    publish(hass, STATUS, status(key, "online", "s2", 1))
    await hass.async_block_till_done()
    device = entry.runtime_data.roster.devices[VICTIM]
    assert (device.name, device.session) == ("Now", "s2")
    for day in (0, 30):
        freezer.move_to(right + timedelta(days=day, minutes=2))
        publish(hass, REGISTER.format(VICTIM), kept_name, retain=True)
        publish(hass, STATUS, kept_offline, retain=True)
        await hass.async_block_till_done()
        assert (device.name, device.offline) == ("Now", False)
