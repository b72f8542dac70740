"""What requesters that may not act (clients outside wyoming_trusted_clients, bus guests) may spend, per requester (Authority.who).

Grok's questions (each on the owner's key) and audio heard on the event loop.

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
import math
import time

from alicia_bus.limits import RateLimiter

from .audio import STREAMING_SECONDS, Pace
from .authority import Authority

# Requesters remembered at once; the least recently seen is forgotten first (its
# next connection starts afresh, within the budget of all untrusted requesters).
MAX_REQUESTERS = 1024
# Questions one untrusted requester may ask at once, before its rate applies.
QUESTION_BURST = 3
# All untrusted requesters together: this many requesters' rate and burst.
TOGETHER = 4
# The key of all untrusted requesters' bucket together.
UNTRUSTED = "untrusted"

type Clock = Callable[[], float]


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
    """Questions to Grok (the handle program, the bus's ai and route requests): each is a request on the owner's key.

    Trusted clients (Home Assistant) and approved devices ask as much as they like;
    an untrusted requester (a Wyoming client by its address, a bus guest by its id)
    `per_minute` a minute, `QUESTION_BURST` at once, and all untrusted requesters
    together, on both sides, `TOGETHER` times that; with `per_minute` 0 (the
    default) no untrusted requester is answered at all.
    """

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        """Nothing asked yet."""
        self.per_minute = per_minute
        rate, burst = max(per_minute, 1) / 60, min(QUESTION_BURST, per_minute)
        # The contract core's per-source token buckets (bounded, as the bus's).
        self._own = RateLimiter(rate, burst, clock=clock)
        self._together = RateLimiter(rate * TOGETHER, burst * TOGETHER, clock=clock)

    def refusal(self, authority: Authority) -> Refusal | None:
        """None when authority's question may be asked now (its token is taken); else why not."""
        if authority.may_act:
            return None
        if self.per_minute == 0:
            return Refusal(
                "not-allowed",
                "questions are answered only for wyoming_trusted_clients and "
                "approved devices (wyoming_untrusted_questions is 0)",
            )
        if not self._own.allow(authority.who):
            return Refusal(
                "rate-limited",
                f"at most {self.per_minute} questions a minute from one untrusted "
                "client (wyoming_untrusted_questions)",
            )
        if not self._together.allow(UNTRUSTED):
            return Refusal(
                "rate-limited",
                f"at most {self.per_minute * TOGETHER} questions a minute from "
                "untrusted clients together (wyoming_untrusted_questions)",
            )
        return None


# Audio heard on the event loop (wake words; an untrusted client's speech too): a
# chunk counts as at least this much audio, so a chunk of one sample is not free
# (its event is most of the cost: 1-sample chunks on 30 connections took describe
# to 0.9 s).
MIN_CHUNK_SECONDS = 0.01
# A wake stream's audio-start counts as this much audio: it resets each word's
# model that heard the last stream (0.1 ms a word) or loads it on a connection's
# first stream (0.4 ms), what 0.1-0.35 s of audio costs to hear (each reloading
# all four models, a stranger's audio-starts took the server to 100 % CPU).
MIN_START_SECONDS = 0.25
# Streaming connections that widen one requester's pace for speech at most: two
# satellites behind one address each keep real time, but sixteen connections from
# one address kept Whisper busy with 24 times real time and slowed HA's transcripts.
STREAMS_PER_REQUESTER = 2


class Listening:
    """Audio heard on the event loop, paced per requester for untrusted clients.

    A trusted client's connection (Home Assistant's) has its own `Pace` for wake
    audio and its speech is not paced (its uploads come whole); an untrusted
    requester's wake and speech audio share one `Pace` across all its connections
    (a reconnect gets no new burst), which allows 1.5 times real time for each of
    its connections streaming now (for speech, up to STREAMS_PER_REQUESTER of
    them): one requester never slows another. (A pace shared by all strangers let
    one with two addresses starve every untrusted satellite, and four honest
    satellites streaming at real time fell behind it for good.)
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        """No audio heard yet."""
        self._clock = clock
        self._paces = Requesters(lambda: Pace(clock=clock))
        self._open: Requesters[set[AudioPace]] = Requesters(set)

    def pace(self, authority: Authority) -> AudioPace:
        """One connection's pace, until its close()."""
        if authority.may_act:
            return AudioPace((Pace(),), trusted=True)
        connections = self._open[authority.who]
        pace = AudioPace((self._paces[authority.who],), False, connections, self._clock)
        connections.add(pace)
        return pace


class AudioPace:
    """A connection's audio against the clock: how long to wait before hearing a chunk."""

    def __init__(
        self,
        paces: tuple[Pace, ...],
        trusted: bool,
        connections: set[AudioPace] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """A trusted connection's own pace, or an untrusted one's requester's.

        connections: the requester's open connections, which share its pace.
        """
        self._paces = paces
        self._trusted = trusted
        self._connections = connections if connections is not None else {self}
        self._clock = clock
        self._sent = -math.inf  # when this connection last sent audio

    def close(self) -> None:
        """The connection is gone: its requester's pace is shared by one fewer."""
        self._connections.discard(self)

    def wait(self, seconds: float, speech: bool = False) -> float:
        """Count a chunk of `seconds` arriving now; the seconds to wait before hearing it."""
        if self._trusted:
            return 0.0 if speech else self._paces[0].wait(seconds)
        self._sent = now = self._clock()
        streaming = sum(
            now - other._sent <= STREAMING_SECONDS for other in self._connections
        )
        # Only speech feeds Whisper: wake audio widens with every satellite behind
        # one relay (Docker's, a NAT), or four of them fell behind for good.
        widening = min(streaming, STREAMS_PER_REQUESTER) if speech else streaming
        charged = max(seconds, MIN_CHUNK_SECONDS) / max(1, widening)
        return max(pace.wait(charged) for pace in self._paces)

    def start(self) -> float:
        """Count a new wake stream's audio-start; the seconds to wait before starting it."""
        return 0.0 if self._trusted else self.wait(MIN_START_SECONDS)
