"""Attacks by an approved device on the others' records: registration, leaving, data floods."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from custom_components.alicia.device_data import MAX_KEYS
from tests.integration.helpers import SENSOR, message, repairs_manager

from .devices import (
    ATTACKER,
    REGISTER,
    VICTIM,
    data,
    publish,
    register_signed,
    victim_temperature,
)

UNREGISTER = "alicia/system/discovery/unregister"


def sent_by_attacker(
    keys: dict[str, KeyPair], topic: str, payload: dict[str, Any]
) -> str:
    return message(ATTACKER, payload, key=keys[ATTACKER], topic=topic)


async def test_a_device_cannot_unregister_another(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    before = hub.tally.counters.collisions
    publish(hass, UNREGISTER, sent_by_attacker(keys, UNREGISTER, {"device_id": VICTIM}))
    await hass.async_block_till_done()
    assert VICTIM in hub.roster.devices
    assert hub.tally.counters.collisions == before + 1
    await data(hass, VICTIM, VICTIM, keys[VICTIM], 19.5)  # and it still works
    assert victim_temperature(entry) == 19.5


@pytest.mark.parametrize("via_device", [None, VICTIM], ids=["no-via", "framing"])
async def test_a_new_id_is_registered_only_behind_its_sender(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    via_device: str | None,
) -> None:
    hub = entry.runtime_data
    ghost = {**SENSOR, "device_id": "ghost", "name": "Ghost", "via_device": via_device}
    await register_signed(hass, ghost, keys[ATTACKER], source=ATTACKER)
    assert "ghost" not in hub.roster.devices
    assert "ghost" not in hub.approvals.pending
    assert set(hub.roster.devices) == {VICTIM, ATTACKER}


async def test_a_child_cannot_be_registered_on_another_devices_topic(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    # Its own child, honestly behind it, but on the victim's retained topic.
    child = {**SENSOR, "device_id": "hall_child", "via_device": ATTACKER}
    topic = REGISTER.format(VICTIM)
    publish(hass, topic, sent_by_attacker(keys, topic, child))
    await hass.async_block_till_done()
    assert "hall_child" not in hub.roster.devices
    assert hub.roster.devices[VICTIM].name == "Kitchen sensor"
    assert hub.roster.devices[VICTIM].public_key == keys[VICTIM].public_key


async def test_a_rejected_key_change_leaves_the_approved_key(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    offered = KeyPair.generate()
    await register_signed(hass, SENSOR, offered)  # a key change, for the user to decide
    assert VICTIM in hub.approvals.pending
    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{VICTIM}"})
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": "reject"})
    assert (result["type"], result["reason"]) == ("abort", "device_refused")
    await hass.async_block_till_done()
    assert VICTIM not in hub.approvals.pending
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{VICTIM}") is None
    assert hub.roster.devices[VICTIM].public_key == keys[VICTIM].public_key
    await data(hass, VICTIM, VICTIM, offered, 30.0)  # the refused key is not heard
    await data(hass, VICTIM, VICTIM, keys[VICTIM], 18.0)
    assert victim_temperature(entry) == 18.0


async def test_data_floods_and_shapes_are_bounded_per_device(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    topic = f"alicia/devices/{ATTACKER}/data"
    flood = {"values": {f"key{n}": n for n in range(MAX_KEYS + 1)}}
    publish(hass, topic, sent_by_attacker(keys, topic, flood))
    publish(
        hass, topic, sent_by_attacker(keys, topic, {"values": ["not", "an object"]})
    )
    await hass.async_block_till_done()
    assert hub.roster.devices[ATTACKER].values == {}
    rejected = hub.tally.counters.rejected
    assert rejected["too_many_values"] == 1
    assert rejected["invalid_field"] >= 1
    # Within the bound, the same device is heard.
    publish(hass, topic, sent_by_attacker(keys, topic, {"values": {"on": True}}))
    await hass.async_block_till_done()
    assert hub.roster.devices[ATTACKER].values == {"on": True}
