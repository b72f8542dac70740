"""Attacks with a device's own old words: registrations and statuses replayed as retained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import SENSOR, approve_repair, message

from .devices import REGISTER, VICTIM, publish

STATUS = f"alicia/devices/{VICTIM}/status"
PRESSURE = [*SENSOR["capabilities"], "pressure"]


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The user approves each device, and each 'more'."""
    return {}


def signed(
    key: KeyPair, topic: str, payload: dict[str, Any], age: timedelta = timedelta()
) -> str:
    """The victim's own message, signed, sent age ago."""
    sent = (datetime.now(UTC) - age).isoformat()
    return message(VICTIM, payload, key=key, topic=topic, timestamp=sent)


def registration(key: KeyPair, age: timedelta = timedelta(), **changes: Any) -> str:
    payload = {**SENSOR, "public_key": key.public_key} | changes
    return signed(key, REGISTER.format(VICTIM), payload, age)


def status(key: KeyPair, state: str, session: str, age: timedelta = timedelta()) -> str:
    return signed(key, STATUS, {"state": state, "session": session}, age)


@pytest.fixture
async def key(hass: HomeAssistant, entry: MockConfigEntry) -> KeyPair:
    """The victim, approved (in the permit window), then approved its pressure sensor."""
    key = KeyPair.generate()
    entry.runtime_data.approvals.set_permit(True)
    publish(hass, REGISTER.format(VICTIM), registration(key))
    await hass.async_block_till_done()
    entry.runtime_data.approvals.set_permit(False)
    publish(hass, REGISTER.format(VICTIM), registration(key, capabilities=PRESSURE))
    await hass.async_block_till_done()
    await approve_repair(hass, VICTIM)
    return key


def pressure_entity(hass: HomeAssistant) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        "sensor", "alicia", f"{VICTIM}_pressure"
    )


async def test_an_old_registration_replayed_retained_changes_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, key: KeyPair
) -> None:
    """The attack: a year-old signed registration, republished retained, drops what was approved since."""
    old = registration(key, timedelta(days=365), name="Old name")

    publish(hass, REGISTER.format(VICTIM), old, retain=True)
    await hass.async_block_till_done()

    assert entry.runtime_data.roster.devices[VICTIM].name == SENSOR["name"]
    assert pressure_entity(hass) is not None


async def test_an_old_registration_is_refused_also_after_a_restart(
    hass: HomeAssistant, entry: MockConfigEntry, key: KeyPair
) -> None:
    """The newest registration's time is stored: the broker's old copy at HA's start is ignored."""
    old = registration(key, timedelta(minutes=5), name="Old name")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    publish(hass, REGISTER.format(VICTIM), old, retain=True)
    await hass.async_block_till_done()

    assert entry.runtime_data.roster.devices[VICTIM].name == SENSOR["name"]


async def test_the_registration_in_force_and_a_newer_one_are_taken(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """HA restarting gets the same retained registration (nothing changes); a reboot's newer one is followed."""
    key = KeyPair.generate()
    entry.runtime_data.approvals.set_permit(True)
    current = registration(key, timedelta(days=30))
    publish(hass, REGISTER.format(VICTIM), current, retain=True)
    await hass.async_block_till_done()
    entry.runtime_data.approvals.set_permit(False)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    publish(hass, REGISTER.format(VICTIM), current, retain=True)
    await hass.async_block_till_done()
    publish(hass, REGISTER.format(VICTIM), registration(key, name="Renamed"))
    await hass.async_block_till_done()

    hub = entry.runtime_data
    assert hub.roster.devices[VICTIM].name == "Renamed"
    assert not hub.approvals.pending


async def test_an_old_online_replayed_retained_does_not_take_the_session(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    key: KeyPair,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The attack: a 90-day-old 'online' replayed retained; the device's real last will must still count."""
    publish(hass, STATUS, status(key, "online", "s2"))
    will = status(key, "offline", "s2", timedelta(seconds=1))  # signed as it connected
    await hass.async_block_till_done()

    publish(hass, STATUS, status(key, "online", "s1", timedelta(days=90)), retain=True)
    await hass.async_block_till_done()
    freezer.tick(120)  # the device dies: the broker sends its will
    publish(hass, STATUS, will)
    await hass.async_block_till_done()

    assert entry.runtime_data.roster.devices[VICTIM].offline is True


async def test_the_newest_connections_will_counts_after_a_restart(
    hass: HomeAssistant, entry: MockConfigEntry, key: KeyPair
) -> None:
    """A retained will, older than the online of its connection, still says offline after HA restarts."""
    publish(hass, STATUS, status(key, "online", "s2"))
    will = status(key, "offline", "s2", timedelta(seconds=1))
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    publish(hass, STATUS, will, retain=True)  # the broker's copy, at HA's subscription
    await hass.async_block_till_done()

    assert entry.runtime_data.roster.devices[VICTIM].offline is True


async def test_a_clock_once_ahead_does_not_silence_the_device(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    key: KeyPair,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A retained registration and online dated a day ahead (a bad clock): what comes after, dated right, still counts."""
    ahead = -timedelta(days=1)
    publish(hass, REGISTER.format(VICTIM), registration(key, ahead), retain=True)
    publish(hass, STATUS, status(key, "online", "s1", ahead), retain=True)
    await hass.async_block_till_done()
    freezer.tick(60)  # the clock fixed, the device reboots
    will = status(key, "offline", "s2")
    publish(hass, REGISTER.format(VICTIM), registration(key, name="Kitchen sensor 2"))
    publish(hass, STATUS, status(key, "online", "s2"))
    await hass.async_block_till_done()
    device = entry.runtime_data.roster.devices[VICTIM]
    assert device.name == "Kitchen sensor 2"
    freezer.tick(60)  # it dies: the broker sends its will
    publish(hass, STATUS, will)
    await hass.async_block_till_done()
    assert device.offline is True
