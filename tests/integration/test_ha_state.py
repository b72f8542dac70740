"""HA state of exposed entities on the bus: retained, per entity, debounced."""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .helpers import LIGHT, SENSOR, register, send, setup_alicia


def states(mqtt_mock: MqttMockHAClient, entity_id: str) -> list[dict[str, Any]]:
    return [
        json.loads(c.args[1])["payload"]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"alicia/integration/ha/state/{entity_id}" and c.args[3] is True
    ]


async def test_exposed_states_are_published(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set(
        "light.kitchen", "off", {"friendly_name": "Kitchen", "brightness": None}
    )
    hass.states.async_set("lock.front", "locked", {"friendly_name": "Front door"})
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    async_expose_entity(hass, "conversation", "lock.front", False)
    entry = await setup_alicia(hass)
    assert states(mqtt_mock, "light.kitchen")[0]["state"] == "off"
    assert states(mqtt_mock, "lock.front") == []  # not exposed: never published

    for brightness in (10, 50, 200):  # a burst becomes one message
        hass.states.async_set(
            "light.kitchen",
            "on",
            {"friendly_name": "Kitchen", "brightness": brightness},
        )
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()
    published = states(mqtt_mock, "light.kitchen")
    assert len(published) == 2
    assert published[-1]["state"] == "on"
    assert published[-1]["attributes"] == {
        "friendly_name": "Kitchen",
        "brightness": 200,
    }
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_state_names_the_area_and_follows_a_move(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    areas = ar.async_get(hass)
    living, den = areas.async_create("Living room"), areas.async_create("Den")
    config = MockConfigEntry(domain="test")
    config.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=config.entry_id, identifiers={("test", "thermometer")}
    )
    dr.async_get(hass).async_update_device(device.id, area_id=living.id)
    entity = er.async_get(hass).async_get_or_create(
        "sensor", "test", "temperature", device_id=device.id
    )
    lamp = er.async_get(hass).async_get_or_create("light", "test", "lamp")
    er.async_get(hass).async_update_entity(lamp.entity_id, area_id=den.id)
    hass.states.async_set(entity.entity_id, "21.5", {"unit_of_measurement": "°C"})
    hass.states.async_set(lamp.entity_id, "on")
    async_expose_entity(hass, "conversation", entity.entity_id, True)
    async_expose_entity(hass, "conversation", lamp.entity_id, True)
    entry = await setup_alicia(hass)
    # The device's area, since the entity has none of its own.
    assert states(mqtt_mock, entity.entity_id)[-1]["area"] == "Living room"
    assert states(mqtt_mock, lamp.entity_id)[-1]["area"] == "Den"

    dr.async_get(hass).async_update_device(device.id, area_id=den.id)
    er.async_get(hass).async_update_entity(lamp.entity_id, area_id=living.id)
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert states(mqtt_mock, entity.entity_id)[-1]["area"] == "Den"
    assert states(mqtt_mock, lamp.entity_id)[-1]["area"] == "Living room"

    areas.async_update(living.id, name="Lounge")  # a rename, no state change
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    assert states(mqtt_mock, lamp.entity_id)[-1]["area"] == "Lounge"
    assert states(mqtt_mock, entity.entity_id)[-1]["area"] == "Den"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_change_unexposed_before_it_is_sent_is_not_sent(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    entry = await setup_alicia(hass)
    hass.states.async_set("light.vault", "on")  # lights are exposed by default
    async_expose_entity(hass, "conversation", "light.vault", False)
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert states(mqtt_mock, "light.vault") == []
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_state_names_the_alicia_device_it_comes_from(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    entry = await setup_alicia(hass, {"approval": "auto"})
    hass.states.async_set("light.desk", "on")  # HA's own
    await register(hass, LIGHT)
    await register(hass, {**SENSOR, "via_device": "hall_light"}, source="hall_light")
    own = er.async_get(hass)
    lights = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(own, entry.entry_id)
    }
    for entity_id in (*lights.values(), "light.desk"):
        async_expose_entity(hass, "conversation", entity_id, True)
    await hass.async_block_till_done()
    assert "device" not in states(mqtt_mock, "light.desk")[-1]
    assert states(mqtt_mock, lights["hall_light_light"])[-1]["device"] == "hall_light"
    # Behind the hall light: its hub's id.
    temperature = lights["kitchen_sensor_temperature"]
    assert states(mqtt_mock, temperature)[-1]["device"] == "hall_light"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_coming_online_gets_every_state_again(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Sent with a fresh time: an old copy retained by anyone on the broker is older."""
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("lock.front", "locked", {"friendly_name": "Front door"})
    async_expose_entity(hass, "conversation", "lock.front", True)
    entry = await setup_alicia(hass, {"approval": "auto"})
    await register(hass, SENSOR)
    assert len(states(mqtt_mock, "lock.front")) == 1
    await send(
        hass,
        "alicia/devices/kitchen_sensor/status",
        "kitchen_sensor",
        {"state": "online"},
    )
    await send(
        hass,
        "alicia/devices/kitchen_sensor/status",
        "kitchen_sensor",
        {"state": "online"},
    )
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()
    again = states(mqtt_mock, "lock.front")
    assert len(again) == 2  # one burst, however many say online
    assert again[-1]["state"] == "locked"
    assert await hass.config_entries.async_unload(entry.entry_id)
