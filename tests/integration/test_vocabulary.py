"""The names people say are published (retained) as STT vocabulary, and again when they change."""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.vocabulary import Vocabulary

from .helpers import setup_alicia


def published_payloads(mqtt_mock: MqttMockHAClient) -> list[dict[str, Any]]:
    return [
        json.loads(c.args[1])["payload"]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == "alicia/voice/stt/vocabulary" and c.args[3] is True
    ]


def published(mqtt_mock: MqttMockHAClient) -> list[list[str]]:
    return [payload["phrases"] for payload in published_payloads(mqtt_mock)]


async def test_vocabulary_published_and_updated(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    areas = ar.async_get(hass)
    kitchen = areas.async_get_or_create("Kitchen")
    areas.async_update(kitchen.id, aliases={"cooking area"})
    entities = er.async_get(hass)
    lamp = entities.async_get_or_create(
        "light", "test", "lamp", suggested_object_id="zoe_lamp"
    )
    # A list since HA 2026.3 (a set before); HA 2026.2 stores either.
    entities.async_update_entity(lamp.entity_id, aliases=["reading light"])
    hidden = entities.async_get_or_create(
        "switch", "test", "pump", suggested_object_id="secret_pump"
    )
    hass.states.async_set(
        lamp.entity_id, "off", {"friendly_name": "Zoë's bedroom lamp"}
    )
    hass.states.async_set(hidden.entity_id, "off", {"friendly_name": "Secret pump"})
    async_expose_entity(hass, "conversation", lamp.entity_id, True)
    async_expose_entity(hass, "conversation", hidden.entity_id, False)

    entry = await setup_alicia(hass)
    first = published(mqtt_mock)[-1]
    assert {"Kitchen", "cooking area", "Zoë's bedroom lamp", "reading light"} <= set(
        first
    )
    assert "Secret pump" not in first

    hass.states.async_set(lamp.entity_id, "off", {"friendly_name": "Zoë's desk lamp"})
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
    await hass.async_block_till_done()
    latest = published(mqtt_mock)[-1]
    assert "Zoë's desk lamp" in latest
    assert "Zoë's bedroom lamp" not in latest
    count = len(published(mqtt_mock))
    hass.states.async_set(
        lamp.entity_id, "on", {"friendly_name": "Zoë's desk lamp"}
    )  # no rename
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await hass.async_block_till_done()
    assert len(published(mqtt_mock)) == count
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_large_home_ranks_areas_then_what_people_command(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """500 entities in 40 areas: what STT keeps first is what commands name."""
    assert await async_setup_component(hass, "homeassistant", {})
    areas = ar.async_get(hass)
    area_names = [areas.async_get_or_create(f"Room {n}").name for n in range(40)]
    entities = er.async_get(hass)
    lights: list[str] = []
    for n in range(500):
        domain = "light" if n % 5 == 0 else "sensor"
        entity = entities.async_get_or_create(domain, "test", f"e{n}")
        name = f"{domain.title()} {n}"
        hass.states.async_set(entity.entity_id, "on", {"friendly_name": name})
        async_expose_entity(hass, "conversation", entity.entity_id, True)
        if domain == "light":
            lights.append(name)
    entry = await setup_alicia(hass)
    ranked = published(mqtt_mock)[-1]
    assert ranked[:40] == area_names
    assert ranked[40:140] == lights
    assert len(ranked) == 540
    sent = published_payloads(mqtt_mock)[-1]
    assert sent["areas"] == area_names
    assert ["Light 0", "light"] in sent["entities"]
    assert ["Sensor 1", "sensor"] in sent["entities"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_name_with_control_characters_does_not_spoil_the_vocabulary(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    entity = er.async_get(hass).async_get_or_create("light", "test", "bell")
    hass.states.async_set(entity.entity_id, "on", {"friendly_name": "Bell\x07\nlamp"})
    async_expose_entity(hass, "conversation", entity.entity_id, True)
    entry = await setup_alicia(hass)
    sent = Vocabulary.parse(published_payloads(mqtt_mock)[-1])
    assert ("Bell lamp", "light") in sent.entities
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_name_starting_with_a_combining_mark_does_not_spoil_the_vocabulary(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The bridge refuses a vocabulary with a name it would refuse: HA sends what it takes."""
    assert await async_setup_component(hass, "homeassistant", {})
    for unique_id, name in (("a", "\u0301\u0302Desk lamp"), ("b", "\u0301")):
        entity = er.async_get(hass).async_get_or_create("light", "test", unique_id)
        hass.states.async_set(entity.entity_id, "on", {"friendly_name": name})
        async_expose_entity(hass, "conversation", entity.entity_id, True)
    entry = await setup_alicia(hass)
    sent = Vocabulary.parse(published_payloads(mqtt_mock)[-1])
    assert [name for name, _ in sent.entities] == ["Desk lamp"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unexposing_an_entity_without_a_registry_entry_drops_its_name(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A YAML template without a unique id: only the exposure settings change."""
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("switch.panic_room", "off", {"friendly_name": "Panic room"})
    async_expose_entity(hass, "conversation", "switch.panic_room", True)
    entry = await setup_alicia(hass)
    assert "Panic room" in published(mqtt_mock)[-1]
    async_expose_entity(hass, "conversation", "switch.panic_room", False)
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
    await hass.async_block_till_done()
    last = published_payloads(mqtt_mock)[-1]
    assert "Panic room" not in last["phrases"]
    assert ["Panic room", "switch"] not in last["entities"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_floor_renamed_is_said_by_its_new_name(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    floors = fr.async_get(hass)
    floor = floors.async_create("Upstairs")
    entry = await setup_alicia(hass)
    assert "Upstairs" in published(mqtt_mock)[-1]
    floors.async_update(floor.floor_id, name="First floor")
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
    await hass.async_block_till_done()
    assert "First floor" in published(mqtt_mock)[-1]
    assert "Upstairs" not in published(mqtt_mock)[-1]
    assert await hass.config_entries.async_unload(entry.entry_id)
