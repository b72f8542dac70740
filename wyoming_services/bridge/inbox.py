"""What the broker delivered and the bridge has not read: HA's word at once, devices' requests bounded apart.

aiomqtt drops a message its queue has no room for, after paho acknowledged it (the
broker never sends it again): 2,000 of HA's retained states at a restart lost 742,
and voice requests waiting for room held HA's command answers past their timeout.
So requests wait in a lane of their own, bounded in count and bytes (a requester
re-sends until answered); the rest (HA's states, trust, vocabulary, answers) is
read in order, bounded in bytes only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging

import aiomqtt

from alicia_bus.log_limit import LimitedLog

from .health import BridgeCounters
from .tasks import TaskPool

_LOGGER = logging.getLogger(__name__)
_DROPS = LimitedLog(_LOGGER)
# The topics devices ask on (shared subscriptions end with them).
REQUEST_TOPICS = (
    "/voice/stt/request",
    "/voice/ai/request",
    "/voice/tts/request",
    "/voice/command/route",
)
MAX_REQUESTS = 1000
MAX_REQUEST_BYTES = 32 * 1024 * 1024
# HA's messages are small (64 KiB each, its trust list 1 MiB): past this, a flood.
MAX_OTHER_BYTES = 64 * 1024 * 1024


def size_of(message: aiomqtt.Message) -> int:
    """The payload's bytes."""
    payload = message.payload
    return len(payload) if isinstance(payload, bytes | str) else 0


def is_request(message: aiomqtt.Message) -> bool:
    """A device's request (answered in the task pool), not HA's word or an answer."""
    return str(message.topic).endswith(REQUEST_TOPICS)


class Requests:
    """Devices' requests waiting for room in the task pool; past the bounds, the newest is dropped."""

    def __init__(self, counters: BridgeCounters) -> None:
        """None waiting; drops are counted in `counters` (the heartbeat's)."""
        self._queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        self.bytes = 0
        self.counters = counters

    def __len__(self) -> int:
        """Requests waiting."""
        return self._queue.qsize()

    def offer(self, message: aiomqtt.Message) -> None:
        """Keep it if there is room."""
        size = size_of(message)
        if len(self) >= MAX_REQUESTS or self.bytes + size > MAX_REQUEST_BYTES:
            self.counters.dropped_requests += 1
            _DROPS.log(
                logging.WARNING, "requests",
                "Too many requests waiting (%d, %d bytes): dropped one on %s "
                "(its sender asks again)", len(self), self.bytes, message.topic,
            )  # fmt: skip
            return
        self.bytes += size
        self._queue.put_nowait(message)

    async def take(self) -> aiomqtt.Message:
        """The oldest request waiting."""
        message = await self._queue.get()
        self.bytes -= size_of(message)
        return message


class Inbox(asyncio.Queue[aiomqtt.Message]):
    """aiomqtt's incoming queue: requests go to `requests`, the rest is read from here."""

    requests: Requests

    def __init__(self, maxsize: int = 0) -> None:
        """Empty; aiomqtt's count bound is not used (bytes bound it)."""
        super().__init__()
        self.bytes = 0

    def put_nowait(self, item: aiomqtt.Message) -> None:
        """Route one message aiomqtt received (never raises: aiomqtt would log each)."""
        if is_request(item):
            self.requests.offer(item)
            return
        size = size_of(item)
        if self.bytes + size > MAX_OTHER_BYTES:
            self.requests.counters.dropped_unread += 1
            _DROPS.log(
                logging.WARNING, "other",
                "%d bytes of messages unread: dropped one on %s", self.bytes, item.topic,
            )  # fmt: skip
            return
        self.bytes += size
        super().put_nowait(item)

    def _get(self) -> aiomqtt.Message:
        item: aiomqtt.Message = super()._get()
        self.bytes -= size_of(item)
        return item


def inbox_for(requests: Requests) -> type[Inbox]:
    """An Inbox class (aiomqtt makes the queue itself) whose requests go to `requests`."""

    class ConnectionInbox(Inbox):
        pass

    ConnectionInbox.requests = requests
    return ConnectionInbox


async def read(
    client: aiomqtt.Client,
    requests: Requests,
    pool: TaskPool,
    on_message: Callable[[aiomqtt.Message], Awaitable[None]],
) -> None:
    """One connection's messages: HA's word and answers at once, in order; requests as the pool has room.

    Ends (MqttError) with the connection.
    """

    async def dispatch() -> None:
        while True:
            message = await requests.take()
            size = size_of(message)
            await pool.room(size)
            pool.spawn(on_message(message), size)

    dispatching = asyncio.create_task(dispatch())
    try:
        async for message in client.messages:
            await on_message(message)
    finally:
        dispatching.cancel()
