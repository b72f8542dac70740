"""Whisper's queue: trusted clients' decodes first; among equals, the least decode time used lately.

Piper's turns (tts_turns.py) serve the request with the least text spoken first;
this is the same idea for decodes, by requester: a stranger sending long clips
faster than real time uses decode time, so its next decode waits behind Home
Assistant's and behind anyone who has used less. One requester's second queued
decode ranks behind every other requester's first: a requester that is not
trusted has at most one decode competing at a time, the others wait behind it.

While a trusted client's utterance streams, no stranger's decode starts: a
running decode cannot be stopped, and HA's transcript waited behind strangers'
decodes started while its user spoke (1.0 s became 2-3 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import itertools
import math
import time
from typing import Any

from .audio import STREAMING_SECONDS
from .authority import Authority

# Decode time used halves every this many seconds: "lately" is the last minute or two.
HALF_LIFE_SECONDS = 60.0
# Requesters remembered at most (the least used go first): a flood of addresses
# cannot grow it.
MAX_REQUESTERS = 1024
# A decode asked for by the server itself (warming, tests).
SERVER = Authority("server", may_act=True)


def _nothing() -> None:
    """No one to wake."""


def is_trusted(requester: Authority | None) -> bool:
    """Whether requester is the server itself or a trusted client (may_act)."""
    return (requester or SERVER).may_act


@dataclass(slots=True, eq=False)
class _Waiting:
    who: str
    trusted: bool
    order: int
    grant: asyncio.Future[Any]


class DecodeQueue:
    """The decodes waiting for a decoder, handed out fairly between requesters."""

    def __init__(self, wake: Callable[[], None] = _nothing) -> None:
        """Nothing waiting, nothing used; wake: called when held decodes may start."""
        self._waiting: list[_Waiting] = []
        self._used: dict[str, tuple[float, float]] = {}  # who: (seconds, as of)
        self._order = itertools.count()
        self._wake = wake
        self._streaming: dict[object, float] = {}  # trusted utterance: last audio
        self._lapse: asyncio.TimerHandle | None = None

    def streaming(self, utterance: object) -> None:
        """A trusted client's utterance sent audio: strangers' decodes wait until it is decoded."""
        self._streaming[utterance] = time.monotonic()
        if self._lapse is None:
            self._lapse = asyncio.get_running_loop().call_later(
                STREAMING_SECONDS, self._lapsed
            )

    def decoded(self, utterance: object) -> None:
        """That utterance is decoded or dropped: it holds strangers' decodes no more."""
        if self._streaming.pop(utterance, None) is not None:
            self._wake()

    def _lapsed(self) -> None:
        self._lapse, now = None, time.monotonic()
        for utterance, sent in list(self._streaming.items()):
            if now - sent > STREAMING_SECONDS:
                del self._streaming[utterance]
        if self._streaming:
            first = min(self._streaming.values())
            self._lapse = asyncio.get_running_loop().call_later(
                first + STREAMING_SECONDS - now, self._lapsed
            )
        self._wake()

    def _holds(self, waiting: _Waiting) -> bool:
        """Whether the decode waits for a trusted utterance still streaming."""
        return not waiting.trusted and bool(self._streaming)

    def close(self) -> None:
        """Nothing is woken any more."""
        if self._lapse is not None:
            self._lapse.cancel()

    def add(self, requester: Authority | None, grant: asyncio.Future[Any]) -> None:
        """A decode for requester waits; grant is set when it is its turn."""
        who = requester or SERVER
        self._waiting.append(_Waiting(who.who, who.may_act, next(self._order), grant))

    def remove(self, grant: asyncio.Future[Any]) -> bool:
        """A waiting decode given up or started: whether it was a trusted one."""
        trusted = any(w.trusted for w in self._waiting if w.grant is grant)
        self._waiting = [w for w in self._waiting if w.grant is not grant]
        return trusted

    @property
    def trusted_waiting(self) -> bool:
        """Whether a trusted requester's decode (or the server's) still waits."""
        return any(w.trusted and not w.grant.done() for w in self._waiting)

    def __len__(self) -> int:
        """Decodes still waiting that may start (not held for a trusted utterance)."""
        return sum(not (w.grant.done() or self._holds(w)) for w in self._waiting)

    def first(self) -> asyncio.Future[Any] | None:
        """The grant of the decode to go next, if any waits and may start."""
        self._waiting = [w for w in self._waiting if not w.grant.done()]
        if not any(not self._holds(w) for w in self._waiting):
            return None
        now = time.monotonic()
        ahead: dict[str, int] = {}
        ranked = []
        for waiting in self._waiting:  # in the order they came
            nth = ahead[waiting.who] = ahead.get(waiting.who, -1) + 1
            used = self._used_now(waiting.who, now)
            ranked.append(((not waiting.trusted, nth, used, waiting.order), waiting))
        return min(ranked, key=lambda pair: pair[0])[1].grant

    def charge(self, requester: Authority | None, seconds: float) -> None:
        """Charge a decode of seconds to requester."""
        who, now = (requester or SERVER).who, time.monotonic()
        self._used[who] = (self._used_now(who, now) + seconds, now)
        if len(self._used) > MAX_REQUESTERS:
            least = min(self._used, key=lambda key: self._used_now(key, now))
            del self._used[least]

    def _used_now(self, who: str, now: float) -> float:
        seconds, since = self._used.get(who, (0.0, now))
        return seconds * math.pow(0.5, (now - since) / HALF_LIFE_SECONDS)
