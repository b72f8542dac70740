"""What HA could not publish while MQTT was down goes out when it connects again."""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .helpers import setup_alicia

STATE = "alicia/integration/ha/state/{}"


def sent(mqtt_mock: MqttMockHAClient, entity_id: str) -> list[dict[str, Any] | None]:
    """What was published on an entity's state topic, in order (None: the empty message)."""
    return [
        json.loads(c.args[1])["payload"] if c.args[1] else None
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == STATE.format(entity_id)
    ]


async def test_states_and_removals_held_back_by_a_broken_connection_follow_it(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.kitchen", "off", {"friendly_name": "Kitchen"})
    hass.states.async_set("lock.front", "locked", {"friendly_name": "Front door"})
    for entity_id in ("light.kitchen", "lock.front"):
        async_expose_entity(hass, "conversation", entity_id, True)
    entry = await setup_alicia(hass)
    mqtt_mock.async_publish.side_effect = HomeAssistantError("not connected")
    async_expose_entity(hass, "conversation", "light.kitchen", False)
    hass.states.async_set("lock.front", "unlocked", {"friendly_name": "Front door"})
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()
    mqtt_mock.async_publish.reset_mock(side_effect=True)

    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    assert sent(mqtt_mock, "light.kitchen") == [
        {"entity_id": "light.kitchen", "removed": True},
        None,
    ]
    *_, lock = sent(mqtt_mock, "lock.front")
    assert lock is not None
    assert lock["state"] == "unlocked"
    assert await hass.config_entries.async_unload(entry.entry_id)
