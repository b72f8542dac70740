"""The messages being handled at once, bounded in number and in bytes."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable

# Messages being handled at once (a count, and their bytes: audio requests are large).
MAX_TASKS = 256
MAX_PENDING_BYTES = 32 * 1024 * 1024
# Requests remembered as answered, so a second delivery (QoS 1) is not served twice.
SEEN_IDS = 10_000

type RequestKey = tuple[str, str]


class TaskPool:
    """Work in hand; room() holds the reader back while it is full."""

    def __init__(self) -> None:
        """Nothing in hand."""
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending_bytes = 0

    def __len__(self) -> int:
        """Tasks in hand."""
        return len(self.tasks)

    async def room(self, size: int) -> None:
        """Backpressure: return only once the work in hand is small enough."""
        while self.tasks and (
            len(self.tasks) >= MAX_TASKS
            or self.pending_bytes + size > MAX_PENDING_BYTES
        ):
            await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)

    def spawn(self, work: Awaitable[None], size: int = 0) -> None:
        """Start work, counting its bytes until it is done."""
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        self.pending_bytes += size

        def done(finished: asyncio.Future[None]) -> None:
            self.tasks.discard(finished)
            self.pending_bytes -= size

        task.add_done_callback(done)

    async def any_done(self, seconds: float) -> None:
        """Wait until one task finishes, or timeout."""
        if self.tasks:
            await asyncio.wait(
                self.tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )


class AnsweredRequests:
    """(sender, message id) answered or being answered, bounded."""

    def __init__(self) -> None:
        """None yet."""
        self._seen: OrderedDict[RequestKey, None] = OrderedDict()
        self._in_flight: set[RequestKey] = set()

    def __contains__(self, key: RequestKey) -> bool:
        """Answered, or being answered now."""
        return key in self._seen or key in self._in_flight

    def begin(self, key: RequestKey) -> None:
        """Being answered now."""
        self._in_flight.add(key)

    def end(self, key: RequestKey, answered: bool) -> None:
        """No longer in hand; remembered if the answer went out."""
        self._in_flight.discard(key)
        if answered:
            self._seen[key] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
