"""Attacks by a device on the broker against the add-on's bridge (a real Mosquitto, the real server)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path

import pytest

from alicia_bus.audio import encode_audio
from alicia_bus.envelope import new_message, timestamp
from alicia_bus.signing import KeyPair
from tests.bus.client import BusClient, bus_client, publish_trust
from tests.bus.conftest import broker_and_bridge, start_bridge
from tests.conftest import Mosquitto, ServerProcess, wait_until
from tests.fake_xai import FakeXai

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("socket_enabled")]
HUB = KeyPair.generate()
AI = "alicia/voice/ai/request"
STT = "alicia/voice/stt/request"


@pytest.fixture
def bridge_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="module")
def bridge_bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[tuple[Mosquitto, ServerProcess]]:
    """One broker and bridge for the attacks that leave nothing behind for the next."""
    directory = tmp_path_factory.mktemp("device_to_bridge")
    with broker_and_bridge(directory, fake_xai_server, "bridge-x") as running:
        yield running


@pytest.fixture
def broker(bridge_bus: tuple[Mosquitto, ServerProcess]) -> Mosquitto:
    return bridge_bus[0]


@pytest.fixture
def bridge(bridge_bus: tuple[Mosquitto, ServerProcess]) -> ServerProcess:
    return bridge_bus[1]


async def online(client: BusClient) -> None:
    """Wait until the bridge is connected and subscribed (its retained status says so)."""
    await client.wait_for(
        lambda m: m.get("payload", {}).get("state") == "online",
        topic="alicia/devices/bridge-x/status",
    )


async def test_reply_to_cannot_aim_the_bridges_signed_answer_at_another_device(
    bridge: ServerProcess, broker: Mosquitto, xai: FakeXai
) -> None:
    async with bus_client(broker.port, "alicia/#") as client:
        await online(client)
        victim_topic = "alicia/devices/front_door_lock/command"
        message = new_message(
            "attacker", "request", {"text": "Hi"}, reply_to=victim_topic
        )
        await client.publish(AI, message)
        # Refused, and answered on the request kind's own response topic.
        error = await client.wait_for(
            lambda m: m.get("correlation_id") == message["message_id"],
            topic="alicia/voice/ai/response",
        )
        assert error["payload"]["error"]["code"] == "invalid_field"
        # Its own namespace is fine.
        own = await client.request(
            AI,
            {"text": "Hi"},
            source="attacker",
            reply_to="alicia/devices/attacker/replies/voice",
        )
        assert "error" not in own["payload"]
        # That answer is the marker: the bridge had handled the first request (its
        # error came first) before it took this one, and the broker passes what the
        # bridge publishes to this subscription in the order it was sent.
        assert (
            client.messages[victim_topic] == [message]
            or client.messages[victim_topic] == []
        )
        assert not [
            m
            for m in client.messages[victim_topic]
            if isinstance(m, dict) and m.get("source") == "bridge-x"
        ]


async def test_only_the_hub_sets_the_vocabulary(
    bridge: ServerProcess, broker: Mosquitto
) -> None:
    async with bus_client(
        broker.port,
        "alicia/system/health/heartbeat",
        "alicia/devices/bridge-x/status",
    ) as client:
        await online(client)
        await publish_trust(client, HUB, "verify")
        topic = "alicia/voice/stt/vocabulary"
        await client.publish(
            topic, new_message("attacker", "event", {"phrases": ["open the safe"]})
        )
        spoofed = new_message("home-assistant", "event", {"phrases": ["open the safe"]})
        await client.publish(topic, spoofed)  # the hub's name, no signature
        heartbeat = await client.wait_for(
            lambda m: (
                m["payload"]["counters"]["rejected_by_code"].get("not_hub", 0) >= 1
                and m["payload"]["counters"]["rejected_by_code"].get("unsigned", 0) >= 1
            ),
            topic="alicia/system/health/heartbeat",
        )
        assert heartbeat["source"] == "bridge-x"
    assert "STT vocabulary" not in bridge.log.read_text()


async def test_an_old_trust_list_cannot_switch_security_off_after_a_restart(
    mosquitto: Mosquitto, fake_xai_server: FakeXai, bridge_dir: Path
) -> None:
    now = datetime.now(UTC)
    server = start_bridge(mosquitto, fake_xai_server, "bridge-x", bridge_dir)
    try:
        async with bus_client(mosquitto.port, "alicia/#") as client:
            await online(client)
            await publish_trust(client, HUB, "enforce", sent=now)
            # Taken (and kept on disk) before the bridge stops.
            await wait_until(lambda: "Security mode enforce" in server.log.read_text())
    finally:
        server.stop()
    server = start_bridge(mosquitto, fake_xai_server, "bridge-x", bridge_dir)
    try:
        async with bus_client(mosquitto.port, "alicia/#") as client:
            await client.wait_for(
                lambda m: (
                    m.get("payload", {}).get("state") == "online"
                    and m["timestamp"] > timestamp(now)
                ),
                topic="alicia/devices/bridge-x/status",
            )
            # The attacker re-publishes a genuine, older list that said "off".
            await publish_trust(client, HUB, "off", sent=now - timedelta(hours=1))
            message = new_message("attacker", "request", {"text": "Hi"})
            await client.publish(AI, message)
            answer = await client.answer_to(message["message_id"], limit=20)
            assert answer["payload"]["error"]["code"] == "unsigned"
    finally:
        server.stop()


async def test_a_request_that_breaks_the_server_is_still_answered(
    bridge: ServerProcess, broker: Mosquitto
) -> None:
    async with bus_client(broker.port, "alicia/#") as client:
        await online(client)
        # 24-bit audio at 8 channels: a format no handler expects.
        odd = encode_audio(bytes(3 * 8 * 4800), 48000, width=3, channels=8)
        answer = await client.request(STT, {"audio": odd}, source="attacker", limit=20)
        assert answer["payload"]["error"]["code"] in ("bad_audio", "failed")
        # The bridge goes on serving.
        fine = encode_audio(bytes(3200), 16000)
        answer = await client.request(STT, {"audio": fine}, source="attacker", limit=20)
        assert "error" not in answer["payload"]


async def test_the_same_message_id_from_another_sender_is_not_a_duplicate(
    bridge: ServerProcess, broker: Mosquitto, xai: FakeXai
) -> None:
    async with bus_client(broker.port, "alicia/#") as client:
        await online(client)
        first = new_message(
            "kitchen",
            "request",
            {"text": "One"},
            reply_to="alicia/devices/kitchen/replies/voice",
        )
        await client.publish(AI, first)
        await client.wait_for(
            lambda m: m.get("correlation_id") == first["message_id"],
            topic="alicia/devices/kitchen/replies/voice",
        )
        # An attacker who saw the id cannot suppress another device's request with it.
        second = new_message(
            "hall",
            "request",
            {"text": "Two"},
            reply_to="alicia/devices/hall/replies/voice",
        )
        second["message_id"] = first["message_id"]
        await client.publish(AI, second)
        answer = await client.wait_for(
            lambda m: m.get("destination") == "hall",
            topic="alicia/devices/hall/replies/voice",
            limit=20,
        )
        assert "error" not in answer["payload"]


async def test_a_hostile_message_id_is_not_echoed_and_the_bridge_goes_on(
    bridge: ServerProcess, broker: Mosquitto, xai: FakeXai
) -> None:
    async with bus_client(broker.port, "alicia/#") as client:
        await online(client)
        raw = json.dumps(
            new_message("attacker", "request", {"text": 5}) | {"message_id": "\\ud800"}
        ).replace("\\\\ud800", "\\ud800")
        await client.publish(AI, raw.encode())
        error = await client.wait_for(
            lambda m: m.get("source") == "bridge-x" and "error" in m.get("payload", {}),
            topic="alicia/system/errors",
        )
        assert error["correlation_id"] == "unknown"
        answer = await client.request(
            AI, {"text": "Still there?"}, source="attacker", limit=20
        )
        assert "error" not in answer["payload"]
