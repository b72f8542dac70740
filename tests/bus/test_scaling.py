"""Several bridges share the work; a broker restart loses no request."""

from __future__ import annotations

import asyncio
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from tests.conftest import Mosquitto, ServerProcess, wait_until
from tests.fake_xai import FakeXai

from .client import BusClient, bus_client, publish_trust
from .conftest import start_bridge

pytestmark = pytest.mark.slow
AI = "alicia/voice/ai/request"
HUB = KeyPair.generate()
# Many questions at once: an approved device's, signed (a guest's are a few a minute).
DEVICE = KeyPair.generate()


async def approve(client: BusClient, *bridges: ServerProcess) -> None:
    """HA's trust list, approving test-device, taken by every bridge."""
    await publish_trust(client, HUB, "verify", {"test-device": DEVICE.public_key})
    for bridge in bridges:
        await wait_until(partial(listed, bridge))


def listed(bridge: ServerProcess) -> bool:
    """Whether the bridge took the trust list."""
    return "1 approved device keys" in bridge.log.read_text()


async def test_two_bridges_answer_each_request_once(
    mosquitto: Mosquitto, xai: FakeXai, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    bridges = await asyncio.gather(
        *(
            loop.run_in_executor(None, start_bridge, mosquitto, xai, name, tmp_path)
            for name in ("bridge-a", "bridge-b")
        )
    )
    try:
        async with bus_client(
            mosquitto.port, "alicia/voice/ai/response", "alicia/devices/+/status"
        ) as client:
            for name in ("bridge-a", "bridge-b"):
                await client.wait_for(
                    lambda m: m["payload"]["state"] == "online",
                    topic=f"alicia/devices/{name}/status",
                )
            await approve(client, *bridges)
            requests = [
                DEVICE.sign(
                    AI, new_message("test-device", "request", {"text": f"Q {i}?"})
                )
                for i in range(200)
            ]
            for request in requests:
                await client.publish(AI, request)
            for request in requests:
                await client.answer_to(request["message_id"], limit=60)
            # Room for a second answer, should there be one: a wait, not a marker,
            # since it would come from the other bridge, whose messages are in no
            # order with this one's.
            await asyncio.sleep(1)
            answers = [
                m
                for m in client.messages["alicia/voice/ai/response"]
                if isinstance(m, dict)
            ]
            per_request = Counter(m["correlation_id"] for m in answers)
            assert len(per_request) == 200
            assert set(per_request.values()) == {1}
            per_bridge = Counter(m["source"] for m in answers)
            assert set(per_bridge) == {"bridge-a", "bridge-b"}
            assert min(per_bridge.values()) >= 20, per_bridge
            for request, answer in zip(
                requests,
                sorted(
                    answers,
                    key=lambda m: [r["message_id"] for r in requests].index(
                        m["correlation_id"]
                    ),
                ),
                strict=True,
            ):
                assert answer["payload"]["text"].startswith(
                    f"You asked: {request['payload']['text']}"
                )
    finally:
        for bridge in bridges:
            bridge.stop()


async def test_broker_restart_loses_no_request(
    mosquitto: Mosquitto, xai: FakeXai, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    bridge = await loop.run_in_executor(
        None, start_bridge, mosquitto, xai, "bridge-r", tmp_path
    )
    try:
        async with bus_client(
            mosquitto.port, "alicia/devices/bridge-r/status"
        ) as client:
            await client.wait_for(lambda m: m["payload"]["state"] == "online")
            await approve(client, bridge)
        assert (await client_request(mosquitto.port, "Before?")).startswith(
            "You asked: Before?"
        )

        await loop.run_in_executor(None, mosquitto.stop)
        await asyncio.sleep(0.5)  # real time: the bridge notices the broker gone
        await loop.run_in_executor(None, mosquitto.start)

        # Sent straight after the restart, while the bridge is still reconnecting:
        # requesters repeat unanswered requests (docs/protocol.md, "Delivery").
        async with bus_client(mosquitto.port, "alicia/voice/ai/response") as client:
            results = await asyncio.gather(
                *(
                    client.request_until_answered(
                        AI, {"text": f"After {i}?"}, key=DEVICE
                    )
                    for i in range(20)
                )
            )
            for index, (answer, _) in enumerate(results):
                assert answer["payload"]["text"].startswith(
                    f"You asked: After {index}?"
                )
            # A wait, not a marker: a copy sent before the restart may be answered
            # by the bridge's new session, in no order with what this client sends.
            await asyncio.sleep(1)
            # Each answered once, however often it was sent.
            correlations = Counter(
                m["correlation_id"]
                for m in client.messages["alicia/voice/ai/response"]
                if isinstance(m, dict)
            )
            assert len(correlations) == 20
            assert set(correlations.values()) == {1}
        assert "retrying in" in bridge.log.read_text()
    finally:
        bridge.stop()


async def client_request(port: int, text: str) -> str:
    async with bus_client(port, "alicia/voice/ai/response") as client:
        message = new_message("test-device", "request", {"text": text})
        await client.publish(AI, DEVICE.sign(AI, message))
        answer = await client.answer_to(message["message_id"])
        result: str = answer["payload"]["text"]
        return result
