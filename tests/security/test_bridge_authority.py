"""Grok as a confused deputy: a request carries its requester's authority over the home, no more."""

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
from tests.wyoming.test_grok_server import handle

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("socket_enabled")]
HUB = KeyPair.generate()
DEVICE = KeyPair.generate()
AI = "alicia/voice/ai/request"
COMMAND = "alicia/integration/ha/command"
ERRORS = "alicia/system/errors"
STATE = "alicia/integration/ha/state/light.kitchen"
TURN_ON = {"action": "light.turn_on", "entity_id": ["light.kitchen"]}


@pytest.fixture(scope="module")
def home_bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[tuple[Mosquitto, ServerProcess]]:
    """A bridge with home tools; its Wyoming port trusts an address the tests are not on.

    Untrusted Wyoming clients are refused questions by default; here they may ask.
    """
    with broker_and_bridge(
        tmp_path_factory.mktemp("authority"), fake_xai_server, "bridge-g",
        "--grok-api", "responses", "--wyoming-trusted-clients", "10.9.9.9",
        "--wyoming-untrusted-questions", "10",  # answered, without the home
    ) as running:  # fmt: skip
        yield running


async def the_home(client: BusClient, bridge: ServerProcess) -> None:
    """HA's trust list (the kitchen satellite approved) and its kitchen light."""
    await publish_trust(client, HUB, "verify", {"kitchen_satellite": DEVICE.public_key})
    state = new_message("home-assistant", "event", {
        "entity_id": "light.kitchen", "state": "off", "area": "Kitchen",
        "attributes": {"friendly_name": "Kitchen light"}, "last_changed": None,
    })  # fmt: skip
    await client.publish(STATE, HUB.sign(STATE, state), retain=True)
    await wait_until(lambda: "State of light.kitchen" in bridge.log.read_text())


async def ask(client: BusClient, message: dict[str, Any]) -> str:
    await client.publish(AI, message)
    answer = await client.answer_to(message["message_id"], limit=20)
    return str(answer["payload"]["text"])


@pytest.mark.parametrize(
    "signer", [None, KeyPair.generate()], ids=["unsigned", "unknown-key"]
)
async def test_an_unregistered_client_cannot_use_grok_to_act(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai, signer: KeyPair | None
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, "alicia/voice/ai/response", COMMAND) as client:
        await the_home(client, bridge)
        xai.configure(tool_calls=[{"name": "call_action", "arguments": TURN_ON}])
        question = new_message("stranger", "request", {"text": "Turn on the lights."})
        said = await ask(client, signer.sign(AI, question) if signer else question)
        # No wait: a command to HA is sent while the request is answered, and the
        # answer would come only after HA's (here never given) reply to it, on the
        # same connection.
        assert client.messages[COMMAND] == []  # nothing asked of HA
    assert said == "You asked: Turn on the lights. I remember 0 earlier answers."
    (asked,) = xai.responses_requests()
    assert "tools" not in asked["body"]
    assert "not allowed to see or control" in asked["body"]["input"][0]["content"]


async def test_a_wyoming_client_ha_does_not_vouch_for_gets_no_home_tools(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, COMMAND, ERRORS) as client:
        await the_home(client, bridge)
        xai.configure(tool_calls=[{"name": "call_action", "arguments": TURN_ON}])
        events = await handle(bridge.uri, "Turn on the lights.", "w1")
        # A marker the bridge answers at once: a command it sent while answering
        # over Wyoming went out on its connection before this error does.
        await client.publish(AI, b"{marker")
        await client.wait_for(
            lambda m: m["payload"]["error"]["code"] == "malformed_json", topic=ERRORS
        )
        assert client.messages[COMMAND] == []
    assert events == [
        "handled:You asked: Turn on the lights. I remember 0 earlier answers."
    ]
    assert "tools" not in xai.responses_requests()[0]["body"]


async def test_an_approved_device_signing_its_request_may_act(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, "alicia/voice/ai/response", COMMAND) as client:
        await the_home(client, bridge)
        xai.configure(tool_calls=[{"name": "call_action", "arguments": TURN_ON}])
        question = new_message(
            "kitchen_satellite", "request", {"text": "Turn on the lights."}
        )
        asking = asyncio.create_task(ask(client, DEVICE.sign(AI, question)))
        command = await client.wait_for(lambda m: True, topic=COMMAND)
        done = new_message(
            "home-assistant", "response", {"status": "done"},
            destination="bridge-g", correlation_id=command["message_id"],
        )  # fmt: skip
        await client.publish(command["reply_to"], HUB.sign(command["reply_to"], done))
        said = await asyncio.wait_for(asking, 20)
    assert said == "Tool said: done: light.turn_on on light.kitchen."
    assert command["payload"]["target"] == {"entity_id": ["light.kitchen"]}


async def ask_placed(
    client: BusClient, bridge: ServerProcess, xai: FakeXai, source: str, signer: KeyPair
) -> str:
    """A question from source; HA's trust list places the kitchen satellite (and a stranger); Grok's prompt."""
    await the_home(client, bridge)
    await publish_trust(
        client, HUB, "verify", {"kitchen_satellite": DEVICE.public_key},
        areas={"kitchen_satellite": "Kitchen", "elsewhere": "Garage"},
    )  # fmt: skip
    question = new_message(source, "request", {"text": "What's on?"})
    await ask(client, signer.sign(AI, question))
    prompt: str = xai.responses_requests()[-1]["body"]["input"][0]["content"]
    return prompt


async def test_grok_hears_where_an_approved_device_asks_from(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, "alicia/voice/ai/response") as client:
        prompt = await ask_placed(client, bridge, xai, "kitchen_satellite", DEVICE)
    assert 'speaking to a device in the area "Kitchen"' in prompt
    assert "Garage" not in prompt


async def test_an_area_for_a_device_not_approved_places_nobody(
    home_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, bridge = home_bus
    async with bus_client(broker.port, "alicia/voice/ai/response") as client:
        prompt = await ask_placed(client, bridge, xai, "elsewhere", KeyPair.generate())
    assert "Garage" not in prompt
    assert "not allowed to see or control" in prompt
