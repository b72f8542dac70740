"""The bridge charges a sender's rate only once it is known to be that sender."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.home import HaState
from alicia_bus.signing import KeyPair
from tests.bus.client import BusClient, bus_client, publish_trust
from tests.bus.conftest import broker_and_bridge
from tests.conftest import Mosquitto, ServerProcess
from tests.fake_xai import FakeXai

pytestmark = pytest.mark.slow
HUB = KeyPair.generate()
PANEL = KeyPair.generate()
AI = "alicia/voice/ai/request"
RESPONSE = "alicia/voice/ai/response"


@pytest.fixture(scope="module")
def limited_bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[tuple[Mosquitto, ServerProcess]]:
    """A bridge allowing each sender 5 messages a second, in bursts of 20."""
    with broker_and_bridge(
        tmp_path_factory.mktemp("limited"), fake_xai_server, "bridge-r",
        "--rate-limit", "5", "--rate-burst", "20",
    ) as running:  # fmt: skip
        yield running


def ask(text: str, key: KeyPair | None) -> dict[str, Any]:
    message = new_message("kitchen_panel", "request", {"text": text})
    return key.sign(AI, message) if key is not None else message


async def answer_code(client: BusClient, message: dict[str, Any]) -> str | None:
    await client.publish(AI, message)
    answer = await client.answer_to(message["message_id"], limit=20)
    error = answer["payload"].get("error")
    return None if error is None else str(error["code"])


async def test_a_forged_flood_in_a_devices_name_does_not_starve_it(
    limited_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, _ = limited_bus
    async with bus_client(broker.port, RESPONSE) as client:
        await publish_trust(client, HUB, "enforce", {"kitchen_panel": PANEL.public_key})
        forger = KeyPair.generate()
        for index in range(60):
            await client.publish(AI, ask(f"Forged {index}", forger))
            await client.publish(AI, ask(f"Unsigned {index}", None))
        assert await answer_code(client, ask("Still me?", PANEL)) is None


async def test_home_assistants_burst_arrives_whole_and_a_revocation_holds(
    limited_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    broker, _ = limited_bus
    async with bus_client(broker.port, RESPONSE) as client:
        await publish_trust(client, HUB, "enforce", {"kitchen_panel": PANEL.public_key})
        assert await answer_code(client, ask("Approved?", PANEL)) is None
        for index in range(40):
            topic = f"alicia/integration/ha/state/sensor.t{index}"
            state = HaState(f"sensor.t{index}", str(index)).to_payload()
            await client.publish(
                topic, HUB.sign(topic, new_message("home-assistant", "event", state))
            )
        # The user removes the panel: the newest trust list must not be dropped.
        await publish_trust(client, HUB, "enforce", {})
        assert await answer_code(client, ask("Removed?", PANEL)) == "untrusted"
