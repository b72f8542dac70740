"""A bridge starting on a broker that keeps thousands of HA's states takes them all (none dropped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from tests.bus.client import bus_client, publish_trust
from tests.bus.conftest import start_bridge
from tests.conftest import Mosquitto, wait_until
from tests.fake_xai import FakeXai

pytestmark = pytest.mark.slow
HUB = KeyPair.generate()
STATES = 2000  # past aiomqtt's queue of 1,000, which dropped the rest once acknowledged


def state(entity_id: str) -> dict[str, Any]:
    """HA's state of one entity, as the integration publishes it."""
    payload = {
        "entity_id": entity_id, "state": "on", "area": "Hall",
        "attributes": {"friendly_name": entity_id}, "last_changed": None,
    }  # fmt: skip
    return new_message("home-assistant", "event", payload)


async def test_a_bridge_starting_takes_every_retained_state(
    tmp_path: Path, fake_xai_server: FakeXai
) -> None:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        async with bus_client(broker.port) as client:
            await publish_trust(client, HUB, "verify")
            for n in range(STATES):
                topic = f"alicia/integration/ha/state/sensor.s{n}"
                await client.publish(
                    topic, HUB.sign(topic, state(f"sensor.s{n}")), retain=True
                )
        bridge = start_bridge(broker, fake_xai_server, "bridge-burst", tmp_path)
        try:
            await wait_until(
                lambda: bridge.log.read_text().count("State of sensor.s") >= STATES, 60
            )
            assert "queue is full" not in bridge.log.read_text()
        finally:
            bridge.stop()
    finally:
        broker.stop()
