"""The bridge's inbox: HA's word is read while devices' requests wait for room, and requests are bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from wyoming_services.bridge import inbox, tasks
from wyoming_services.bridge.health import BridgeCounters, HealthReport
from wyoming_services.bridge.inbox import Inbox, Requests, inbox_for, read
from wyoming_services.bridge.tasks import TaskPool

REQUEST = "$share/alicia-bridge/alicia/voice/ai/request"
STATE = "alicia/integration/ha/state/light.kitchen"


def message(topic: str, size: int = 10) -> aiomqtt.Message:
    return aiomqtt.Message(topic, b"x" * size, 1, False, 1, None)


class Client:
    """What read() uses of aiomqtt's client: its messages, from an Inbox as aiomqtt fills it."""

    def __init__(self, queue: Inbox) -> None:
        self.queue = queue

    @property
    async def messages(self) -> AsyncIterator[aiomqtt.Message]:
        while True:
            yield await self.queue.get()


async def test_ha_is_heard_while_requests_wait_for_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks, "MAX_TASKS", 2)
    requests, pool, handled = Requests(BridgeCounters()), TaskPool(), []
    queue = inbox_for(requests)()
    never = asyncio.Event()

    async def on_message(item: aiomqtt.Message) -> None:
        handled.append(str(item.topic))
        if str(item.topic) == REQUEST:
            await never.wait()  # a slow answer: the pool fills

    for _ in range(5):
        queue.put_nowait(message(REQUEST))
    queue.put_nowait(message(STATE))
    reading = asyncio.create_task(read(Client(queue), requests, pool, on_message))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.05)
        assert handled.count(REQUEST) == 2  # the pool is full
        assert STATE in handled  # read anyway
        assert len(requests) == 2  # (and one taken, waiting for room)
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await pool.cancel()


def test_requests_past_the_bounds_are_dropped_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox, "MAX_REQUESTS", 3)
    monkeypatch.setattr(inbox, "MAX_OTHER_BYTES", 100)
    counters = BridgeCounters()
    requests = Requests(counters)
    queue = inbox_for(requests)()
    for _ in range(5):
        queue.put_nowait(message(REQUEST))
    for _ in range(3):
        queue.put_nowait(message(STATE, 40))
    assert (len(requests), counters.dropped_requests) == (3, 2)
    assert (queue.qsize(), counters.dropped_unread, queue.bytes) == (2, 1, 80)
    queue.get_nowait()
    assert queue.bytes == 40


def test_the_heartbeat_says_what_the_inbox_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flood the bridge could not keep shows in its heartbeat, across reconnections."""
    monkeypatch.setattr(inbox, "MAX_REQUESTS", 1)
    monkeypatch.setattr(inbox, "MAX_OTHER_BYTES", 10)
    counters = BridgeCounters()
    for _ in range(2):  # each connection gets its own inbox, the counts go on
        queue = inbox_for(Requests(counters))()
        for _ in range(3):
            queue.put_nowait(message(REQUEST))
            queue.put_nowait(message(STATE, 10))
    document = HealthReport(counters).document("alicia-voice", 10, True)
    assert document["counters"]["dropped_requests"] == 4
    assert document["counters"]["dropped_unread"] == 4
