"""HA state of exposed entities on the bus: retained, per entity, debounced."""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .helpers import setup_alicia


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
