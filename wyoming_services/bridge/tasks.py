"""The messages being handled at once, the requests answered, and their answers kept for retries."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import json
import time
from typing import Any
import uuid

# Messages being handled at once (a count, and their bytes: audio requests are large).
MAX_TASKS = 256
MAX_PENDING_BYTES = 32 * 1024 * 1024
# Requests remembered as answered, so a second delivery (QoS 1) is not served twice.
SEEN_IDS = 10_000
# Answers kept for the requester's retries (docs/protocol.md, "Delivery"): as long
# as a request may be served at all, and bounded in number, bytes and copies.
KEEP_SECONDS = 120.0
MAX_KEPT = 1000
MAX_KEPT_BYTES = 16 * 1024 * 1024
# One requester's share: its flood pushes out its own answers, not others'.
MAX_KEPT_PER_SOURCE = 16
MAX_KEPT_BYTES_PER_SOURCE = 4 * 1024 * 1024
MAX_RESENDS = 3
# A copy this soon after its answer went out crossed that answer (a QoS 1
# redelivery, a retry sent as it arrived): not sent again. Requesters wait seconds.
RESEND_AFTER = 1.0

type RequestKey = tuple[str, str]


class TaskPool:
    """Work in hand; room() holds the reader back while it is full."""

    def __init__(self) -> None:
        """Nothing in hand."""
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending_bytes = 0
        # Ends one guest's request waiting for a slot (answered busy), if there is one.
        self.shed: Callable[[], bool] = lambda: False

    def __len__(self) -> int:
        """Tasks in hand."""
        return len(self.tasks)

    async def room(self, size: int) -> None:
        """Backpressure: return only once the work in hand is small enough; guests waiting give way first."""
        while self.tasks and (
            len(self.tasks) >= MAX_TASKS
            or self.pending_bytes + size > MAX_PENDING_BYTES
        ):
            # The next request may be an approved device's: it does not wait for
            # guests' requests that only wait themselves.
            self.shed()
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

    async def cancel(self) -> None:
        """Stop the work in hand and wait until it has stopped."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

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
        """No longer in hand; remembered if it was answered (sent or kept)."""
        self._in_flight.discard(key)
        if answered:
            self._seen[key] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)


@dataclass(slots=True)
class KeptAnswer:
    """An answer's payload and where it went, kept for the requester's retries."""

    topic: str
    payload: dict[str, Any]
    size: int
    until: float
    # The response's message_id: every copy sent has it, so the requester takes one.
    message_id: str
    # When it last reached the broker (None: it has not).
    sent: float | None = None
    resends: int = 0
    # Its publish is under way: a copy arriving meanwhile crossed it (not a retry).
    sending: bool = True


class KeptAnswers:
    """Answers by (requester, message id), for KEEP_SECONDS, bounded in number and bytes."""

    def __init__(self, limit: int = MAX_KEPT, max_bytes: int = MAX_KEPT_BYTES) -> None:
        """None kept yet."""
        self.limit = limit
        self.max_bytes = max_bytes
        self.resend_after = RESEND_AFTER
        self.size = 0
        self._kept: OrderedDict[RequestKey, KeptAnswer] = OrderedDict()
        self._by_source: dict[str, list[RequestKey]] = {}

    def __len__(self) -> int:
        """Answers kept now."""
        return len(self._kept)

    def __contains__(self, key: RequestKey) -> bool:
        """An answer to key is kept (it may have expired since)."""
        return key in self._kept

    def keep(
        self,
        key: RequestKey,
        topic: str,
        payload: dict[str, Any],
        message_id: str | None = None,
    ) -> None:
        """Keep an answer not sent yet (its response's message_id); the requester's own oldest go first past its share."""
        size = len(json.dumps(payload))
        if size > MAX_KEPT_BYTES_PER_SOURCE:
            return
        self._forget(key)
        source = key[0]
        mine = [k for k in self._by_source.get(source, ()) if k in self._kept]
        while mine and (
            len(mine) >= MAX_KEPT_PER_SOURCE
            or sum(self._kept[k].size for k in mine) + size > MAX_KEPT_BYTES_PER_SOURCE
        ):
            self._forget(mine.pop(0))
        self._kept[key] = KeptAnswer(
            topic, payload, size, time.monotonic() + KEEP_SECONDS,
            message_id or str(uuid.uuid4()),
        )  # fmt: skip
        self._by_source[source] = [*mine, key]
        self.size += size
        self._expire()

    def sent(self, key: RequestKey) -> None:
        """The answer to key reached the broker (now)."""
        if (kept := self._kept.get(key)) is not None:
            kept.sent = time.monotonic()
            kept.sending = False

    def unsent(self, key: RequestKey) -> None:
        """The answer's publish failed: the requester's retry gets it."""
        if (kept := self._kept.get(key)) is not None:
            kept.sending = False

    def again(self, key: RequestKey) -> KeptAnswer | None:
        """The answer for a retry of key, or None: none kept, being or just sent, or MAX_RESENDS times more."""
        self._expire()
        kept = self._kept.get(key)
        if kept is None or kept.sending or kept.resends >= MAX_RESENDS:
            return None
        if kept.sent is not None and time.monotonic() - kept.sent < self.resend_after:
            return None
        kept.resends += 1
        return kept

    def _forget(self, key: RequestKey) -> None:
        if (gone := self._kept.pop(key, None)) is not None:
            self.size -= gone.size
            keys = self._by_source.get(key[0], [])
            if key in keys:
                keys.remove(key)
            if not keys:
                self._by_source.pop(key[0], None)

    def _expire(self) -> None:
        now = time.monotonic()
        while self._kept:
            key, oldest = next(iter(self._kept.items()))
            full = len(self._kept) > self.limit or self.size > self.max_bytes
            if oldest.until >= now and not full:
                return
            self._forget(key)
