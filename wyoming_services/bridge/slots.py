"""Requests in hand at once: approved devices' never wait for a guest's, guests get a bounded share."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .tasks import MAX_TASKS

# Guests' requests waiting for a slot: each holds a place in the task pool, so at
# most half of it; the reader always has room to bring in an approved device's.
MAX_GUESTS_WAITING = MAX_TASKS // 2


class Busy(Exception):
    """A guest's request not taken: as many guests' already wait."""


class Slots:
    """bridge_max_concurrent slots for requesters that may act, and a share of what they leave for guests.

    An approved device's request waits only for approved devices' (at most `most`
    of theirs at once); guests (requesters that may not act: in verify mode any
    made-up id) use at most half of the slots, only while approved devices leave
    them free and none of theirs waits, and past MAX_GUESTS_WAITING waiting a guest
    is told Busy at once. So at most `most` plus the guests' share run together.
    """

    def __init__(self, most: int) -> None:
        """None in hand."""
        self.most = most
        self.guests_most = max(1, most // 2)
        self._acting = 0
        self._guests = 0
        self._waiting_acting: deque[asyncio.Future[None]] = deque()
        self._waiting_guests: deque[asyncio.Future[None]] = deque()

    @property
    def guests_waiting(self) -> int:
        """Guests' requests waiting for a slot."""
        return len(self._waiting_guests)

    @asynccontextmanager
    async def hold(self, may_act: bool) -> AsyncIterator[None]:
        """A slot for the request's work; Busy (before any wait) for a guest past the bound."""
        if not may_act and len(self._waiting_guests) >= MAX_GUESTS_WAITING:
            raise Busy(
                f"the bridge is busy: {MAX_GUESTS_WAITING} requests of devices that "
                "may not act on the home wait already; ask again later"
            )
        await self._enter(may_act)
        try:
            yield
        finally:
            self._leave(may_act)

    async def _enter(self, may_act: bool) -> None:
        self._grant()
        waiting = self._waiting_acting if may_act else self._waiting_guests
        if not waiting and self._free(may_act):
            self._take(may_act)
            return
        turn = asyncio.get_running_loop().create_future()
        waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._leave(may_act)  # given the slot as it was cancelled
            else:
                # Another task's _grant may have passed over it already (several
                # waiting tasks are cancelled at once when the bridge stops).
                if turn in waiting:
                    waiting.remove(turn)
                self._grant()  # a guest may have waited behind it
            raise

    def _free(self, may_act: bool) -> bool:
        if may_act:
            return self._acting < self.most
        return (
            not self._waiting_acting
            and self._guests < self.guests_most
            and self._acting + self._guests < self.most
        )

    def _take(self, may_act: bool) -> None:
        if may_act:
            self._acting += 1
        else:
            self._guests += 1

    def _leave(self, may_act: bool) -> None:
        if may_act:
            self._acting -= 1
        else:
            self._guests -= 1
        self._grant()

    def _grant(self) -> None:
        """Hand free slots to the waiting: approved devices' first; a cancelled turn is passed over."""
        for may_act, waiting in (
            (True, self._waiting_acting),
            (False, self._waiting_guests),
        ):
            while waiting and self._free(may_act):
                turn = waiting.popleft()
                if not turn.done():
                    self._take(may_act)
                    turn.set_result(None)
