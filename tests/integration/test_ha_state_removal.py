"""A state HA no longer shares leaves the bus: deleted, unexposed while Alicia was away, under an old prefix."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
from typing import Any
from unittest.mock import patch

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import verify

from .helpers import HUB_KEY, STORE, setup_alicia, store_hub_key

STATE = "{}/integration/ha/state/{}"


def sent(
    mqtt_mock: MqttMockHAClient, entity_id: str, prefix: str = "alicia"
) -> list[dict[str, Any] | None]:
    """What was published on an entity's state topic, in order (None: the empty retained message)."""
    return [
        json.loads(c.args[1])["payload"] if c.args[1] else None
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == STATE.format(prefix, entity_id)
    ]


def removed(entity_id: str) -> list[dict[str, Any] | None]:
    """The signed tombstone, then the empty retained message that clears the broker's copy."""
    return [{"entity_id": entity_id, "removed": True}, None]


async def hang(*_: Any, **__: Any) -> None:
    """A broker that never answers."""
    await asyncio.Event().wait()


async def settle(hass: HomeAssistant, seconds: float = 2) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done()


async def alice_exposed(hass: HomeAssistant) -> None:
    """Alice's presence, exposed to Assist: what must not stay on the broker."""
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("person.alice", "home", {"friendly_name": "Alice"})
    async_expose_entity(hass, "conversation", "person.alice", True)


async def test_a_deleted_entity_is_removed_from_the_bus(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Else its last state (a lock: unlocked) stays retained for every device to read."""
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("lock.old_door", "unlocked", {"friendly_name": "Old door"})
    async_expose_entity(hass, "conversation", "lock.old_door", True)
    entry = await setup_alicia(hass)
    mqtt_mock.async_publish.reset_mock()
    hass.states.async_remove("lock.old_door")
    await settle(hass)
    assert sent(mqtt_mock, "lock.old_door") == removed("lock.old_door")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entity_back_at_once_is_only_updated(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Its integration reloaded: no removal between the two states."""
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.desk", "on")
    entry = await setup_alicia(hass)
    mqtt_mock.async_publish.reset_mock()
    hass.states.async_remove("light.desk")
    hass.states.async_set("light.desk", "off")
    await settle(hass)
    assert [p and p["state"] for p in sent(mqtt_mock, "light.desk")] == ["off"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_an_entity_unexposed_while_alicia_was_away_is_removed_at_start(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Alicia disabled, reloading or HA restarting: what it published is in its store."""
    await alice_exposed(hass)
    entry = await setup_alicia(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    async_expose_entity(hass, "conversation", "person.alice", False)
    mqtt_mock.async_publish.reset_mock()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    assert sent(mqtt_mock, "person.alice") == removed("person.alice")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_removal_mqtt_did_not_take_survives_a_restart(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """Unexposed while the broker was down, then HA restarted: removed at the next start."""
    store_hub_key(hass_storage)
    hass_storage[STORE]["data"]["retained_states"] = {"alicia": ["person.alice"]}
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("person.alice", "home", {"friendly_name": "Alice"})
    async_expose_entity(hass, "conversation", "person.alice", False)
    mqtt_mock.async_publish.reset_mock()
    entry = await setup_alicia(hass)
    tombstone = next(
        c.args[1]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == STATE.format("alicia", "person.alice") and c.args[1]
    )
    # Signed by the hub: the bridge drops a state only on HA's word.
    topic = STATE.format("alicia", "person.alice")
    verify(topic, json.loads(tombstone), HUB_KEY.public_key)
    assert sent(mqtt_mock, "person.alice") == removed("person.alice")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hass_storage[STORE]["data"]["retained_states"] == {}


async def test_a_store_from_before_keeps_working_and_remembers_what_is_retained(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    store_hub_key(hass_storage)  # no retained_states in it
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.desk", "on")
    entry = await setup_alicia(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    data = hass_storage[STORE]["data"]
    assert data["hub_key"] == HUB_KEY.pem.decode()
    assert data["retained_states"] == {"alicia": ["light.desk"]}


async def test_a_stored_entity_missing_at_boot_waits_for_ha_to_start(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """Its integration may not have set it up yet: removed only if still missing once started."""
    store_hub_key(hass_storage)
    hass_storage[STORE]["data"]["retained_states"] = {
        "alicia": ["light.late", "light.gone"]
    }
    assert await async_setup_component(hass, "homeassistant", {})
    hass.set_state(CoreState.starting)
    mqtt_mock.async_publish.reset_mock()
    entry = await setup_alicia(hass)
    assert sent(mqtt_mock, "light.gone") == []
    hass.states.async_set("light.late", "on")
    hass.set_state(CoreState.running)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await settle(hass)
    assert sent(mqtt_mock, "light.gone") == removed("light.gone")
    assert None not in sent(mqtt_mock, "light.late")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_new_prefix_removes_the_states_under_the_old_one(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    await alice_exposed(hass)
    entry = await setup_alicia(hass)
    mqtt_mock.async_publish.reset_mock()
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "topic_prefix": "home"}
    )
    await settle(hass)
    assert sent(mqtt_mock, "person.alice") == removed("person.alice")
    assert sent(mqtt_mock, "person.alice", "home")[-1] is not None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_deleting_alicia_clears_what_it_left_on_the_broker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """States, vocabulary, trust list and hub key; then its store, private key and all."""
    await alice_exposed(hass)
    entry = await setup_alicia(hass)
    mqtt_mock.async_publish.reset_mock()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert sent(mqtt_mock, "person.alice") == removed("person.alice")
    cleared = {
        c.args[0]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[1] == b"" and c.args[3] is True
    }
    assert {
        "alicia/voice/stt/vocabulary",
        "alicia/system/security/trust",
        "alicia/system/security/hub",
    } <= cleared
    assert STORE not in hass_storage


@pytest.mark.parametrize(
    "failure",
    [HomeAssistantError("not connected"), hang],
    ids=["mqtt_down", "broker_hung"],
)
async def test_deleting_alicia_without_the_broker_still_deletes_it(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    failure: Any,
) -> None:
    """Best effort, bounded in time: the user's deletion never waits on the broker."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    mqtt_mock.async_publish.side_effect = failure
    with patch("custom_components.alicia.REMOVE_SECONDS", 0.05):
        await hass.config_entries.async_remove(entry.entry_id)
    assert hass.config_entries.async_get_entry(entry.entry_id) is None
    assert STORE not in hass_storage
