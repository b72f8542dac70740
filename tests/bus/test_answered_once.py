"""One answer per request across a broker kill -9: a retry that crossed a kept answer is the same message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import json
from pathlib import Path
import time
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
import pytest

from alicia_bus.envelope import new_message
from tests.conftest import ServerProcess
from tests.fake_xai import FakeXai

from .client import bus_client
from .conftest import broker_and_bridge

pytestmark = pytest.mark.slow

AI = "alicia/voice/ai/request"
ANSWERS = "alicia/voice/ai/response"


@asynccontextmanager
async def requester(port: int) -> AsyncIterator[aiomqtt.Client]:
    """The requester's own MQTT session: persistent, so the broker queues its answers while it is away."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier="kitchen-requester", clean_start=False,
        protocol=aiomqtt.ProtocolVersion.V5, properties=properties,
    ) as client:  # fmt: skip
        yield client


def serving_again(bridge: ServerProcess, times: int) -> None:
    """Block until the bridge has logged 'serving' `times` times (it resubscribed)."""
    deadline = time.monotonic() + 30
    while bridge.log.read_text().count("serving alicia/voice") < times:
        assert time.monotonic() < deadline, bridge.log.read_text()
        time.sleep(0.05)


async def test_a_retry_crossing_an_answer_the_broker_kept_is_the_same_answer(
    tmp_path: Path, xai: FakeXai
) -> None:
    """The soak's double answer, made to happen: each request gets one answer.

    The requester is away when its answer is published (its connection died with
    the broker); the broker keeps the answer in its session and saves it, is killed
    -9 and started again; the requester, answered by no one in time, sends its
    request again; the bridge cannot know the broker kept the first copy, so it
    sends the kept answer again. Back online, the requester gets both copies: they
    must be one message (one message_id), which it takes once.
    """
    with broker_and_bridge(tmp_path, xai, "bridge-once") as (broker, bridge):
        async with requester(broker.port) as client:
            await client.subscribe(ANSWERS, qos=1)
        # Away now; the broker queues what comes on ANSWERS for it.
        question = new_message("kitchen", "request", {"text": "Is the oven off?"})
        async with bus_client(broker.port, ANSWERS) as sender:
            await sender.publish(AI, question)
            first = await sender.answer_to(question["message_id"])
        # Real time: saved by the broker (its autosave_interval is a second), then killed.
        await asyncio.sleep(2.5)
        assert broker.process is not None
        broker.process.kill()
        broker.process.wait()
        await asyncio.to_thread(broker.start)
        await asyncio.to_thread(serving_again, bridge, 2)
        async with bus_client(broker.port, ANSWERS) as sender:
            await sender.publish(AI, question)  # the requester's retry, unchanged
            again = await sender.wait_for(lambda m: m["payload"] == first["payload"])
        got: list[dict[str, Any]] = []
        async with requester(broker.port) as client:
            async with asyncio.timeout(10):
                async for message in client.messages:
                    got.append(json.loads(bytes(message.payload)))
                    if len(got) == 2:
                        break
    # Both copies reached the requester: the one the broker kept, and the resend.
    assert [m["correlation_id"] for m in got] == [question["message_id"]] * 2
    assert again["message_id"] == first["message_id"]
    assert {m["message_id"] for m in got} == {first["message_id"]}
    assert len(xai.chat_requests()) == 1  # and the request ran once
