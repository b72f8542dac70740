"""Grok's home tools on the bridge, attacked over a real broker: only the hub's word counts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from tests.bus.client import BusClient, bus_client, publish_trust
from tests.bus.conftest import broker_and_bridge
from tests.conftest import Mosquitto, ServerProcess, wait_until
from tests.fake_xai import FakeXai

pytestmark = pytest.mark.slow
HUB = KeyPair.generate()
DEVICE = KeyPair.generate()
STATE = "alicia/integration/ha/state/{}"
COMMAND = "alicia/integration/ha/command"
BRIDGE = "bridge-h"


@pytest.fixture(scope="module")
def home_bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[tuple[Mosquitto, ServerProcess]]:
    """A bridge whose Grok speaks the Responses API, with home tools."""
    with broker_and_bridge(
        tmp_path_factory.mktemp("home"),
        fake_xai_server,
        BRIDGE,
        "--grok-api",
        "responses",
    ) as running:
        yield running


def state(entity_id: str, value: str, source: str = "home-assistant") -> dict[str, Any]:
    payload = {"entity_id": entity_id, "state": value, "area": "Hall",
               "attributes": {"friendly_name": entity_id}, "last_changed": "now"}  # fmt: skip
    return new_message(source, "event", payload)


async def ask(client: BusClient, text: str) -> str:
    """As the approved kitchen satellite, signing: a requester that may act."""
    topic = "alicia/voice/ai/request"
    message = new_message("kitchen_satellite", "request", {"text": text})
    await client.publish(topic, DEVICE.sign(topic, message))
    answer = await client.answer_to(message["message_id"])
    return str(answer["payload"]["text"])


async def test_only_the_hubs_states_reach_the_model(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, "alicia/voice/ai/response") as client:
        await publish_trust(
            client, HUB, "verify", {"kitchen_satellite": DEVICE.public_key}
        )
        topic = STATE.format("sensor.hall_temperature")
        real = state("sensor.hall_temperature", "19")
        await client.publish(topic, HUB.sign(topic, real), retain=True)
        # An approved device, signing as itself, says the front door is open.
        topic = STATE.format("lock.front")
        forged = DEVICE.sign(
            topic, state("lock.front", "unlocked", "kitchen_satellite")
        )
        await client.publish(topic, forged, retain=True)
        # Someone claims to be HA, without its signature.
        topic = STATE.format("alarm_control_panel.home")
        await client.publish(topic, state("alarm_control_panel.home", "disarmed"))
        await wait_until(
            lambda: "state/alarm_control_panel.home" in bridge.log.read_text()
        )
        await wait_until(
            lambda: "State of sensor.hall_temperature" in bridge.log.read_text()
        )
        xai.configure(tool_calls=[{"name": "list_entities", "arguments": {}}])
        answer = await ask(client, "What is going on at home?")
    assert "sensor.hall_temperature" in answer
    assert 'is "19"' in answer
    assert "lock.front" not in answer
    assert "alarm_control_panel" not in answer
    log = bridge.log.read_text()
    assert (
        "Ignored alicia/integration/ha/state/lock.front from kitchen_satellite" in log
    )
    assert (
        "Refused message on alicia/integration/ha/state/alarm_control_panel.home: "
        "home-assistant has an approved key and must sign (unsigned)"
    ) in log


async def test_a_forged_command_answer_is_not_believed(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, "alicia/voice/ai/response", COMMAND) as client:
        await publish_trust(
            client, HUB, "verify", {"kitchen_satellite": DEVICE.public_key}
        )
        topic = STATE.format("lock.front")
        await client.publish(
            topic, HUB.sign(topic, state("lock.front", "locked")), retain=True
        )
        await wait_until(lambda: "lock.front: locked" in bridge.log.read_text())
        call = {"action": "lock.unlock", "entity_id": ["lock.front"]}
        xai.configure(tool_calls=[{"name": "call_action", "arguments": call}])
        asking = asyncio.create_task(ask(client, "Unlock the front door."))
        command = await client.wait_for(lambda m: True, topic=COMMAND)
        assert command["source"] == BRIDGE
        assert command["payload"] == {
            "action": "lock.unlock", "target": {"entity_id": ["lock.front"]}, "data": {}
        }  # fmt: skip
        reply_to = command["reply_to"]
        assert reply_to == f"alicia/devices/{BRIDGE}/replies/ha"

        def answer(source: str, payload: dict[str, Any]) -> dict[str, Any]:
            return new_message(
                source, "response", payload,
                destination=BRIDGE, correlation_id=command["message_id"],
            )  # fmt: skip

        done = {"status": "done"}
        # "Done", from an unsigned "HA" and from an approved device: neither is HA.
        await client.publish(reply_to, answer("home-assistant", done))
        await client.publish(
            reply_to, DEVICE.sign(reply_to, answer("kitchen_satellite", done))
        )
        # Both taken in, and set aside, before HA's own answer comes.
        await wait_until(
            lambda: f"Refused message on {reply_to}" in bridge.log.read_text()
        )
        await wait_until(
            lambda: (
                f"Ignored {reply_to} from kitchen_satellite" in bridge.log.read_text()
            )
        )
        refused = {"status": "refused",
                   "error": {"code": "failed", "message": "lock.unlock is not allowed"}}  # fmt: skip
        await client.publish(
            reply_to, HUB.sign(reply_to, answer("home-assistant", refused))
        )
        said = await asyncio.wait_for(asking, 20)
    assert (
        said == "Tool said: error: Home Assistant refused: lock.unlock is not allowed."
    )


async def test_states_that_are_not_states_are_refused(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, "alicia/voice/ai/response") as client:
        await publish_trust(
            client, HUB, "verify", {"kitchen_satellite": DEVICE.public_key}
        )
        # One state taken, so Grok is offered the home's tools (run alone too).
        topic = STATE.format("light.kitchen")
        await client.publish(topic, HUB.sign(topic, state("light.kitchen", "on")))
        # The topic names one entity, the payload another.
        topic = STATE.format("light.hall")
        await client.publish(topic, HUB.sign(topic, state("lock.front", "unlocked")))
        topic = STATE.format("light.porch")
        broken = new_message(
            "home-assistant", "event", {"state": "on", "attributes": []}
        )
        await client.publish(topic, HUB.sign(topic, broken))
        await wait_until(
            lambda: (
                "state on alicia/integration/ha/state/light.porch"
                in bridge.log.read_text()
            )
        )
        xai.configure(
            tool_calls=[{"name": "list_entities", "arguments": {"name": "porch"}}]
        )
        answer = await ask(client, "Is the porch light on?")
    assert answer == "Tool said: no exposed entity matches; try fewer filters."
    log = bridge.log.read_text()
    assert "Ignored state on alicia/integration/ha/state/light.hall" in log
    assert "Ignored state on alicia/integration/ha/state/light.porch" in log
