"""The bridge's view of the home and Grok's tools on it, without a broker: bounds and mistakes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from alicia_bus.envelope import Envelope
from alicia_bus.errors import ProtocolError
from alicia_bus.home import CommandAnswer, HaCommand, HaState
from wyoming_services.bridge.home import (
    MAX_PENDING_COMMANDS,
    CommandFailed,
    HomeCommands,
    HomeState,
)
from wyoming_services.bridge.home_tools import MAX_LISTED, HomeTools
from wyoming_services.grok import ToolError

TURN_ON = HaCommand("light.turn_on", ("light.a",))


NOW = datetime.now(UTC)


def state(entity_id: str, value: str = "on", **more: Any) -> HaState:
    return HaState.parse({"entity_id": entity_id, "state": value, **more})


def response(correlation_id: str, payload: dict[str, Any]) -> Envelope:
    return Envelope(
        "alicia/devices/b/replies/ha", None, "m", datetime.now(UTC), "home-assistant",
        "b", "response", correlation_id, None, payload, {}, {}, None,
    )  # fmt: skip


def test_state_is_bounded_the_least_recently_updated_going_first() -> None:
    home = HomeState(limit=2)
    home.update("light.a", state("light.a"), NOW)
    home.update("light.b", state("light.b"), NOW)
    home.update("light.a", state("light.a", "off"), NOW)  # a known one changes
    home.update("light.c", state("light.c"), NOW)
    assert [e.entity_id for e in home.find()] == ["light.a", "light.c"]
    assert home.update("light.a", HaState.tombstone("light.a"), NOW)
    assert [e.entity_id for e in home.find()] == ["light.c"]


def test_find_by_area_domain_and_name() -> None:
    home = HomeState()
    home.update("sensor.t", state("sensor.t", "21", area="Living Room",
                attributes={"friendly_name": "Thermometer", "unit_of_measurement": "°C",
                            "device_class": "temperature"}), NOW)  # fmt: skip
    home.update("light.reading", state("light.reading", area="Living Room"), NOW)
    home.update("light.hall", state("light.hall", area="Hall"), NOW)
    assert [e.entity_id for e in home.find(area="living_room")] == [
        "light.reading", "sensor.t"
    ]  # fmt: skip
    assert [e.entity_id for e in home.find(area="living room", domain="light")] == [
        "light.reading"
    ]
    assert [e.entity_id for e in home.find(name="thermo")] == ["sensor.t"]
    (thermometer,) = home.find(domain="sensor")
    assert thermometer.line() == (
        'sensor.t: "Thermometer" (temperature) in "Living Room" is "21 °C"'
    )


@pytest.mark.parametrize(
    ("payload", "problem"),
    [({"state": "on"}, "entity_id: must be an entity id"),
     ({"entity_id": "no_dot", "state": "on"}, "entity_id: must be an entity id"),
     ({"entity_id": "light.a", "state": 1}, "state: must be a string"),
     ({"entity_id": "light.a", "state": "on", "area": ["x"]}, "area: must be"),
     ({"entity_id": "light.a", "state": "on", "attributes": ["x"]}, "attributes: must"),
     ({"entity_id": "light.a", "state": "on", "device": "A b"}, "device: must be"),
     ({"entity_id": "light.b", "state": "on"}, "the topic names light.a")],
)  # fmt: skip
def test_a_state_that_is_not_one_is_refused(
    payload: dict[str, Any], problem: str
) -> None:
    home = HomeState()
    with pytest.raises(ProtocolError, match=problem):
        home.update("light.a", HaState.parse(payload), NOW)
    assert len(home) == 0


async def test_long_lists_are_cut_with_a_hint() -> None:
    home = HomeState()
    for number in range(MAX_LISTED + 5):
        home.update(f"light.l{number:03}", state(f"light.l{number:03}"), NOW)
    tools = HomeTools(home, HomeCommands(lambda p, m: asyncio.sleep(0), "r"))
    listed = (await tools.call("list_entities", {"domain": "light"})).splitlines()
    assert len(listed) == MAX_LISTED + 1
    assert listed[-1] == "... and 5 more: give an area, domain or name"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"entity_id": ["light.a"]}, "action is required"),
        ({"action": "light.turn_on", "entity_id": []}, "entity_id must name"),
        ({"action": "light.turn_on", "entity_id": [1]}, "entity_id must name"),
        (
            {
                "action": "light.turn_on",
                "entity_id": "light.a",
                "data": {"area_id": "x"},
            },
            "data must be an object without",
        ),  # no way round HA's exposure check
        ({"action": "light", "entity_id": ["light.a"]}, "domain.action"),
        (
            {"action": "light.turn_on", "entity_id": ["light.a"], "data": "x"},
            "data must",
        ),
        ({"action": 5, "entity_id": ["light.a"]}, "action must be a string"),
    ],
)
async def test_a_malformed_action_is_told_to_the_model(
    arguments: dict[str, Any], problem: str
) -> None:
    sent: list[HaCommand] = []

    async def publish(command: HaCommand, message_id: str) -> None:
        sent.append(command)

    tools = HomeTools(HomeState(), HomeCommands(publish, "r"))
    with pytest.raises(ToolError, match=problem):
        await tools.call("call_action", arguments)
    assert sent == []  # nothing reaches HA


async def test_commands_waiting_are_bounded_and_answered_by_id() -> None:
    ids: list[str] = []

    async def publish(command: HaCommand, message_id: str) -> None:
        ids.append(message_id)

    commands = HomeCommands(publish, "r")
    waiting = [
        asyncio.create_task(commands.run(TURN_ON)) for _ in range(MAX_PENDING_COMMANDS)
    ]
    await asyncio.sleep(0)
    with pytest.raises(CommandFailed, match="too many commands"):
        await commands.run(TURN_ON)
    commands.answered(response("not-ours", {"status": "done"}))  # ignored
    for message_id in ids:
        commands.answered(response(message_id, {"status": "done"}))
    assert [await task for task in waiting] == [CommandAnswer("done")] * len(ids)


async def test_a_refusal_or_an_unreadable_answer_is_a_refusal() -> None:
    ids: list[str] = []

    async def publish(command: HaCommand, message_id: str) -> None:
        ids.append(message_id)

    commands = HomeCommands(publish, "r")
    refused = asyncio.create_task(commands.run(TURN_ON))
    garbled = asyncio.create_task(commands.run(TURN_ON))
    await asyncio.sleep(0)
    refusal = {"status": "refused", "error": {"code": "failed", "message": "nope"}}
    commands.answered(response(ids[0], refusal))
    commands.answered(response(ids[1], {"status": "maybe"}))
    assert await refused == CommandAnswer("refused", "nope")
    assert await garbled == CommandAnswer("refused", None)
