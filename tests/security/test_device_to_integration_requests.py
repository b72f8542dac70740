"""Attacks through a device's requests to the integration: copies, floods, crashes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.bus_link import MAX_REQUESTS_IN_FLIGHT
from tests.integration.helpers import LIGHT, message

from .devices import ATTACKER, REGISTER, VICTIM, publish

COMMAND = "alicia/integration/ha/command"


async def expose_kitchen_light(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.kitchen", "off")
    async_expose_entity(hass, "conversation", "light.kitchen", True)


def attacker_commands(
    hass: HomeAssistant, keys: dict[str, KeyPair], action: str
) -> None:
    """The attacker, signed as itself, asks for action on the exposed kitchen light."""
    payload = {"action": action, "target": {"entity_id": "light.kitchen"}}
    text = message(ATTACKER, payload, "request", key=keys[ATTACKER], topic=COMMAND)
    publish(hass, COMMAND, text)


def command_answers(mqtt_mock: MqttMockHAClient) -> list[dict[str, Any]]:
    return [
        json.loads(c.args[1])["payload"]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"{COMMAND}/response"
    ]


async def test_a_request_runs_once_however_often_it_is_delivered(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    await expose_kitchen_light(hass)
    calls = async_mock_service(hass, "light", "toggle")
    # A device without a key (security off, else it moves nothing): signatures'
    # replay window does not cover it, so running each request once is the hub's own doing.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "security_mode": "off"}
    )
    await hass.async_block_till_done()
    plug = {**LIGHT, "device_id": "plug"}
    publish(hass, REGISTER.format("plug"), message("plug", plug))
    await hass.async_block_till_done()
    payload = {"action": "light.toggle", "target": {"entity_id": "light.kitchen"}}
    text = message("plug", payload, "request")
    for _ in range(3):  # QoS 1 redeliveries (or a copy re-sent)
        publish(hass, COMMAND, text)
    await hass.async_block_till_done()
    assert len(calls) == 1


async def test_a_flood_of_slow_commands_runs_a_bounded_number_at_once(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    await expose_kitchen_light(hass)
    release = asyncio.Event()
    running: list[ServiceCall] = []

    async def slow(call: ServiceCall) -> None:
        running.append(call)
        await release.wait()

    hass.services.async_register("light", "turn_on", slow)
    for _ in range(MAX_REQUESTS_IN_FLIGHT + 4):
        attacker_commands(hass, keys, "light.turn_on")
    rejected = entry.runtime_data.tally.counters.rejected
    for _ in range(500):  # not block_till_done: the actions wait for the release
        if rejected.get("busy") == 4:
            break
        await asyncio.sleep(0.01)
    assert len(running) == MAX_REQUESTS_IN_FLIGHT  # the rest dropped, not queued
    assert rejected["busy"] == 4
    release.set()
    await hass.async_block_till_done()
    answers = command_answers(mqtt_mock)
    assert answers == [{"status": "done"}] * MAX_REQUESTS_IN_FLIGHT


async def test_an_action_that_crashes_is_answered_and_the_hub_goes_on(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    await expose_kitchen_light(hass)

    def broken(call: ServiceCall) -> None:
        raise RuntimeError("a bug in another integration")

    hass.services.async_register("light", "turn_on", broken)
    calls = async_mock_service(hass, "light", "turn_off")
    for action in ("light.turn_on", "light.turn_off"):
        attacker_commands(hass, keys, action)
        await hass.async_block_till_done()
    failed, done = command_answers(mqtt_mock)
    # Answered without the internals of what broke.
    assert failed == {
        "status": "failed",
        "error": {"code": "failed", "message": "internal error"},
    }
    assert done == {"status": "done"}
    assert len(calls) == 1


async def test_a_stranger_cannot_have_the_hub_answer_into_a_devices_namespace(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """A reply_to shaped as the stranger's response topic inside the victim's namespace."""
    inbox = f"alicia/devices/{VICTIM}/replies/response/stranger"
    payload = {"action": "light.turn_on", "target": {"entity_id": "light.x"}}
    text = message("stranger", payload, "request", reply_to=inbox, message_id="m-1")
    mqtt_mock.async_publish.reset_mock()
    publish(hass, COMMAND, text)
    await hass.async_block_till_done()
    topics = [c.args[0] for c in mqtt_mock.async_publish.call_args_list]
    assert not [t for t in topics if t.startswith(f"alicia/devices/{VICTIM}/")]
