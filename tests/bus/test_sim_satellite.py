"""The simulated satellite against an attacker on the broker: replays, loops, junk, odd URLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import json
from typing import Any

import pytest

from alicia_bus.envelope import new_message, timestamp
from alicia_bus.signing import KeyPair
from alicia_bus.topics import HUB_SOURCE
from wyoming_services import sim_io
from wyoming_services.sim_satellite import (
    MAX_FOLLOW_UPS,
    MAX_TURNS,
    TRIGGER,
    SimulatedSatellite,
)

HUB = KeyPair.generate()
HUB_TOPIC = "alicia/system/security/hub"
COMMAND = "alicia/devices/sim_satellite/command"
EVENT = "alicia/devices/sim_satellite/satellite/event"


class Broker:
    """What the satellite publishes, by topic."""

    def __init__(self) -> None:
        """Nothing yet."""
        self.sent: list[str] = []

    async def publish(self, topic: str, payload: bytes, **_: Any) -> None:
        """Kept: the topic."""
        self.sent.append(topic)

    async def subscribe(self, *_: Any, **__: Any) -> None:
        """Nothing to do."""

    def runs(self) -> int:
        """Runs the satellite opened."""
        return self.sent.count("alicia/devices/sim_satellite/satellite/run")


async def nothing(url: str) -> AsyncIterator[bytes]:
    """An answer that is empty."""
    for block in (b"",):
        yield block


def from_hub(topic: str, payload: dict[str, Any], age: float = 0) -> bytes:
    """HA's message, signed; age seconds old."""
    message = new_message(HUB_SOURCE, "event", payload)
    message["timestamp"] = timestamp(datetime.now(UTC) - timedelta(seconds=age))
    return HUB.seal(topic, message)


@pytest.fixture
def broker() -> Broker:
    """A broker that keeps what is published."""
    return Broker()


@pytest.fixture
async def satellite(broker: Broker) -> AsyncIterator[SimulatedSatellite]:
    """A satellite with a clip that has pinned HA's key; its runs cut short at the end."""
    device = SimulatedSatellite(broker, fetch=nothing, clip=bytes(640))  # type: ignore[arg-type]
    hub = {"public_key": HUB.public_key, "fingerprint": HUB.fingerprint}
    device.take(HUB_TOPIC, from_hub(HUB_TOPIC, hub))
    assert device.hub_key == HUB.public_key
    yield device
    for task in list(device._tasks):
        task.cancel()
    await asyncio.gather(*device._tasks, return_exceptions=True)


async def settle() -> None:
    """Long enough for a run just begun to say it opened (its first publish)."""
    for _ in range(10):
        await asyncio.sleep(0)


def press(age: float = 0) -> bytes:
    """HA's press of its Trigger button."""
    return from_hub(COMMAND, {"capability": TRIGGER, "action": "press"}, age)


async def test_a_press_replayed_or_old_opens_no_run(
    broker: Broker, satellite: SimulatedSatellite
) -> None:
    recorded = press()
    satellite.take(COMMAND, recorded)
    satellite.take(COMMAND, recorded)  # recorded from the broker and sent again
    satellite.take(COMMAND, press(age=600))
    await settle()
    assert broker.runs() == 1


async def test_an_agent_that_always_asks_back_gets_a_few_runs(
    broker: Broker, satellite: SimulatedSatellite
) -> None:
    satellite.take(COMMAND, press())
    await settle()
    for _ in range(10):
        newest = list(satellite.turns)[-1]
        asks_back = {"run_id": newest, "type": "end", "listen": True}
        satellite.take(EVENT, from_hub(EVENT, asks_back))
        await settle()
    assert broker.runs() == 1 + MAX_FOLLOW_UPS
    satellite.take(COMMAND, press())  # a new press: a new conversation
    await settle()
    assert broker.runs() == 2 + MAX_FOLLOW_UPS


async def test_it_remembers_its_last_turns_only(
    broker: Broker, satellite: SimulatedSatellite
) -> None:
    for _ in range(3 * MAX_TURNS):
        satellite.take(COMMAND, press())
        await settle()
    assert broker.runs() == 3 * MAX_TURNS
    assert len(satellite.turns) == MAX_TURNS


@pytest.mark.parametrize(
    "junk", [b"[]", b"1", b"{", json.dumps({"payload": 1}).encode()]
)
async def test_junk_on_its_topics_leaves_it_listening(
    broker: Broker, satellite: SimulatedSatellite, junk: bytes
) -> None:
    for topic in (HUB_TOPIC, COMMAND, EVENT):
        satellite.take(topic, junk)
    satellite.take(COMMAND, press())
    await settle()
    assert broker.runs() == 1


async def test_only_http_answers_are_fetched() -> None:
    with pytest.raises(ValueError, match="http"):
        async for _ in sim_io.fetch_url("file:///etc/passwd"):
            pass
