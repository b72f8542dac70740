"""A device's online gets it every state again, but no one can make HA re-sign them all on demand."""

from __future__ import annotations

from datetime import timedelta
import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import SIGNAL_DEVICE_ONLINE

from .helpers import SENSOR, register, send, setup_alicia

ENTITIES = 50


def state_publishes(mqtt_mock: MqttMockHAClient) -> int:
    return sum(
        1
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0].startswith("alicia/integration/ha/state/")
        and json.loads(c.args[1])["payload"].get("state") == "on"
    )


async def lights(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    for i in range(ENTITIES):
        hass.states.async_set(f"light.l{i}", "on")
        async_expose_entity(hass, "conversation", f"light.l{i}", True)


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_an_online_flood_republishes_every_state_at_most_every_30_s(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """An approved device (or anyone speaking for a keyless one) at 10 online messages a second."""
    await lights(hass)
    entry = await setup_alicia(hass, {"approval": "auto"})
    await register(hass, SENSOR)
    mqtt_mock.async_publish.reset_mock()
    for _ in range(600):  # a minute of it
        await send(
            hass,
            "alicia/devices/kitchen_sensor/status",
            "kitchen_sensor",
            {"state": "online"},
        )
        await tick(hass, freezer, 0.1)
    await tick(hass, freezer, 1)
    # At 0 s and 60 s (one device: once a minute), not 600 times.
    assert state_publishes(mqtt_mock) <= 2 * ENTITIES
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_coming_online_is_served_at_once_then_within_30_s(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    await lights(hass)
    entry = await setup_alicia(hass)
    signal = SIGNAL_DEVICE_ONLINE.format(entry.entry_id)
    mqtt_mock.async_publish.reset_mock()
    async_dispatcher_send(hass, signal)  # no device named: the global bound alone
    await tick(hass, freezer, 1)
    assert state_publishes(mqtt_mock) == ENTITIES  # at once
    async_dispatcher_send(hass, signal)
    await tick(hass, freezer, 1)
    assert state_publishes(mqtt_mock) == ENTITIES  # the bound holds it back...
    await tick(hass, freezer, 28)
    await tick(hass, freezer, 1)
    assert state_publishes(mqtt_mock) == 2 * ENTITIES  # ...until it allows
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_one_device_asks_for_every_state_at_most_once_a_minute(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """When the signal names the device that came online."""
    await lights(hass)
    entry = await setup_alicia(hass)
    signal = SIGNAL_DEVICE_ONLINE.format(entry.entry_id)
    async_dispatcher_send(hass, signal, "hall_light")
    await tick(hass, freezer, 31)
    mqtt_mock.async_publish.reset_mock()
    async_dispatcher_send(hass, signal, "hall_light")
    await tick(hass, freezer, 31)
    assert state_publishes(mqtt_mock) == 0
    async_dispatcher_send(hass, signal, "kitchen_sensor")  # another: served
    await tick(hass, freezer, 1)
    assert state_publishes(mqtt_mock) == ENTITIES
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_republish_waiting_does_not_outlive_the_entry(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
) -> None:
    signal = SIGNAL_DEVICE_ONLINE.format(entry.entry_id)
    async_dispatcher_send(hass, signal, "hall_light")
    async_dispatcher_send(hass, signal, "kitchen_sensor")
    assert await hass.config_entries.async_unload(entry.entry_id)
    mqtt_mock.async_publish.reset_mock()
    await tick(hass, freezer, 60)
    assert mqtt_mock.async_publish.call_count == 0
