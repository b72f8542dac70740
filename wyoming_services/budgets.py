"""What clients outside wyoming_trusted_clients may spend, counted per requester (Authority.who), not per connection.

A connection is free to open again: a budget kept per connection (a question
allowance, a burst of audio) is new on every reconnect. These are kept per
requester, in a bounded map shared by the whole server, and under one budget for
all untrusted requesters together, so neither reconnecting nor many addresses buy
more than that.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
import time

from .authority import Authority

# Requesters remembered at once; the least recently seen is forgotten first (its
# next connection starts afresh, within the budget of all untrusted requesters).
MAX_REQUESTERS = 1024
# Questions one untrusted requester may ask at once, before its rate applies.
QUESTION_BURST = 3
# All untrusted requesters together: this many requesters' rate and burst.
TOGETHER = 4

type Clock = Callable[[], float]


class Bucket:
    """A token bucket: `burst` at once, then `per_second`."""

    def __init__(
        self, per_second: float, burst: float, clock: Clock = time.monotonic
    ) -> None:
        """Full."""
        self._rate = per_second
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock()

    def take(self) -> bool:
        """Take a token if there is one."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class Requesters[T]:
    """A value per requester, made on first sight; past `most`, the least recently seen is forgotten."""

    def __init__(self, make: Callable[[], T], most: int = MAX_REQUESTERS) -> None:
        """Empty."""
        self._make = make
        self._most = most
        self._values: OrderedDict[str, T] = OrderedDict()

    def __getitem__(self, who: str) -> T:
        """The value of who, now the most recently seen."""
        value = self._values.pop(who, None)
        if value is None:
            value = self._make()
        self._values[who] = value
        while len(self._values) > self._most:
            self._values.popitem(last=False)
        return value

    def __len__(self) -> int:
        """Requesters remembered."""
        return len(self._values)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused before any work: an error code and a text naming the limit."""

    code: str
    text: str


class Questions:
    """Questions to the handle program ("Alicia (Grok)"): each is a request on the owner's key.

    Trusted clients (Home Assistant) ask as much as they like; an untrusted
    requester `per_minute` a minute, `QUESTION_BURST` at once, and all untrusted
    requesters together `TOGETHER` times that; with `per_minute` 0 (the default) no
    untrusted client is answered at all.
    """

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        """Nothing asked yet."""
        self.per_minute = per_minute
        rate, burst = per_minute / 60, min(QUESTION_BURST, per_minute)
        self._own = Requesters(lambda: Bucket(rate, burst, clock))
        self._together = Bucket(rate * TOGETHER, burst * TOGETHER, clock)

    def refusal(self, authority: Authority) -> Refusal | None:
        """None when authority's question may be asked now (its token is taken); else why not."""
        if authority.may_act:
            return None
        if self.per_minute == 0:
            return Refusal(
                "not-allowed",
                "questions are answered only for wyoming_trusted_clients "
                "(wyoming_untrusted_questions is 0)",
            )
        if not self._own[authority.who].take():
            return Refusal(
                "rate-limited",
                f"at most {self.per_minute} questions a minute from one untrusted "
                "client (wyoming_untrusted_questions)",
            )
        if not self._together.take():
            return Refusal(
                "rate-limited",
                f"at most {self.per_minute * TOGETHER} questions a minute from "
                "untrusted clients together (wyoming_untrusted_questions)",
            )
        return None
