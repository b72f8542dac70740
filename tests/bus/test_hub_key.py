"""A bridge whose pin is another HA's key: said in its heartbeat, kept until the user names the new one (#32, 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from tests.bus.client import BusClient, bus_client, publish_trust
from tests.bus.conftest import start_bridge
from tests.conftest import Mosquitto, wait_until
from tests.fake_xai import FakeXai

pytestmark = pytest.mark.slow

HEARTBEAT = "alicia/system/health/heartbeat"
VOCABULARY = "alicia/voice/stt/vocabulary"


async def vocabulary(client: BusClient, hub: KeyPair) -> None:
    """The hub's vocabulary, signed and retained, as the integration publishes it."""
    message = new_message("home-assistant", "event", {"phrases": ["the Roborock"]})
    await client.publish(VOCABULARY, hub.sign(VOCABULARY, message), retain=True)


async def test_a_stale_pin_is_reported_and_fixed_only_by_the_user(
    tmp_path: Path, fake_xai_server: FakeXai
) -> None:
    old, new = KeyPair.generate(), KeyPair.generate()
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        async with bus_client(broker.port, HEARTBEAT) as client:
            await publish_trust(client, old, "verify")  # the HA the bridge first met
            bridge = start_bridge(broker, fake_xai_server, "bridge-k", tmp_path)
            bridge.stop()
            await publish_trust(client, new, "verify")  # another HA on this broker
            await vocabulary(client, new)
            # Started again (a second time too: the pin is not replaced by itself).
            for _ in range(2):
                client.messages.clear()
                bridge = start_bridge(broker, fake_xai_server, "bridge-k", tmp_path)
                try:
                    beat = await client.wait_for(
                        lambda m: m["source"] == "bridge-k", topic=HEARTBEAT
                    )
                    assert beat["payload"]["hub_key"] == old.fingerprint
                    assert beat["payload"]["status"] == "degraded"
                    assert "STT vocabulary" not in bridge.log.read_text()
                finally:
                    bridge.stop()
            # The user names HA's key (the repair's fix): taken, and said so.
            client.messages.clear()
            bridge = start_bridge(
                broker, fake_xai_server, "bridge-k", tmp_path,
                "--hub-key-fingerprint", new.fingerprint,
            )  # fmt: skip
            try:
                beat = await client.wait_for(
                    lambda m: m["source"] == "bridge-k", topic=HEARTBEAT
                )
                assert beat["payload"]["hub_key"] == new.fingerprint
                assert beat["payload"]["status"] == "healthy"
                await wait_until(lambda: "STT vocabulary" in bridge.log.read_text())
            finally:
                bridge.stop()
    finally:
        broker.stop()
