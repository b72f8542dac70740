"""Requests in hand at once: approved devices' never wait for a guest's, guests get a bounded share."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .inbox import MAX_REQUEST_BYTES
from .tasks import MAX_PENDING_BYTES, MAX_TASKS

# Guests' requests waiting for a slot: each holds a place in the task pool, so at
# most half of it; the reader always has room to bring in an approved device's.
MAX_GUESTS_WAITING = MAX_TASKS // 2
# Their bytes, waiting or served: a request is counted in the task pool's bytes
# until it is answered, and the reader brings no request in while the pool is
# full, so guests keep at most half of it (and of the lane, which the pool drains).
MAX_GUEST_BYTES = min(MAX_PENDING_BYTES, MAX_REQUEST_BYTES) // 2
GAVE_WAY = "the bridge is busy: other requests needed the room; ask again later"


class Busy(Exception):
    """A guest's request not taken: as many guests' requests, or their bytes, are in hand already."""


class Slots:
    """bridge_max_concurrent slots for requesters that may act, and a share of what they leave for guests.

    An approved device's request waits only for approved devices' (at most `most`
    of theirs at once); guests (requesters that may not act: in verify mode any
    made-up id) use at most half of the slots, only while approved devices leave
    them free and none of theirs waits. Past MAX_GUESTS_WAITING waiting, or
    MAX_GUEST_BYTES in hand, a guest is told Busy at once, and a guest waiting is
    told Busy when the task pool is full (shed). So at most `most` plus the
    guests' share run together.
    """

    def __init__(self, most: int) -> None:
        """None in hand."""
        self.most = most
        self.guests_most = max(1, most // 2)
        # The bytes of guests' requests waiting or being served.
        self.guest_bytes = 0
        self._acting = 0
        self._guests = 0
        self._waiting_acting: deque[asyncio.Future[None]] = deque()
        self._waiting_guests: deque[asyncio.Future[None]] = deque()

    @property
    def guests_waiting(self) -> int:
        """Guests' requests waiting for a slot."""
        return len(self._waiting_guests)

    @asynccontextmanager
    async def hold(self, may_act: bool, size: int = 0) -> AsyncIterator[None]:
        """A slot for the work of a request of `size` bytes; Busy (before any wait) for a guest past the bounds."""
        if may_act:
            await self._enter(True)
            try:
                yield
            finally:
                self._leave(True)
            return
        self._admit_guest(size)
        self.guest_bytes += size
        try:
            await self._enter(False)
            try:
                yield
            finally:
                self._leave(False)
        finally:
            self.guest_bytes -= size

    def _admit_guest(self, size: int) -> None:
        if len(self._waiting_guests) >= MAX_GUESTS_WAITING:
            raise Busy(
                f"the bridge is busy: {MAX_GUESTS_WAITING} requests of devices that "
                "may not act on the home wait already; ask again later"
            )
        if self.guest_bytes + size > MAX_GUEST_BYTES:
            raise Busy(
                f"the bridge is busy: {self.guest_bytes} bytes of requests of devices "
                "that may not act on the home are in hand already; ask again later"
            )

    def shed(self) -> bool:
        """Tell the guest that came last of those waiting Busy (the task pool needs its room); False if none waits."""
        while self._waiting_guests:
            turn = self._waiting_guests.pop()
            if not turn.done():
                turn.set_exception(Busy(GAVE_WAY))
                return True
        return False

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
            if turn.done() and not turn.cancelled() and turn.exception() is None:
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
