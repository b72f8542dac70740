"""The Wyoming connections open at once: at the cap, the one with the least claim makes room.

A connection counts once it has sent a first byte; until then it waits in a lobby
of its own (four times the cap), where the oldest makes room for the newest. A
client sends its first event as it connects, so it passes through the lobby at
once, while a flood of silent connections only ever pushes itself out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import logging
import math
import time

_LOGGER = logging.getLogger(__name__)
# Making room is logged at most this often; each closed connection is a debug line.
NOTICE_SECONDS = 60.0
LOBBY_PER_SLOT = 4


class Peer:
    """One connection's standing: what it is doing, and when it last showed life."""

    def __init__(
        self, name: str, close: Callable[[str], None], streaming: Callable[[], bool]
    ) -> None:
        """A connection just opened; close(reason) lets it go, streaming() tells if a stream is open."""
        self.name = name
        self.seen = time.monotonic()
        self.heard = False
        self.close = close
        self._streaming = streaming
        self._writing = 0
        self._working = 0

    def saw(self) -> None:
        """The peer sent an event we act on, or took one of ours."""
        self.seen = time.monotonic()
        self.heard = True

    @contextmanager
    def writing(self) -> Iterator[None]:
        """While the peer has to take what we send."""
        self._writing += 1
        try:
            yield
        finally:
            self._writing -= 1

    def at_work(self) -> _AtWork:
        """While we work on the peer's request."""
        return _AtWork(self)

    def claim(self) -> tuple[int, float]:
        """The lowest claim makes room first: what it does, then how long it was quiet."""
        if not self.heard:
            rank = 0  # has not sent a whole event yet
        elif self._writing:
            rank = 1  # does not take what we send (a reading peer never waits here)
        elif self._working:
            rank = 4  # at work for it
        elif self._streaming():
            rank = 3  # in the middle of an audio or text stream
        else:
            rank = 2  # between requests
        return rank, self.seen


class _AtWork:
    """Peer.at_work, as a class: it is entered for every event (fifty a second a stream)."""

    __slots__ = ("_peer",)

    def __init__(self, peer: Peer) -> None:
        self._peer = peer

    def __enter__(self) -> None:
        self._peer._working += 1

    def __exit__(self, *_: object) -> None:
        self._peer._working -= 1


class Connections:
    """The open connections, at most `cap` and a lobby; a newcomer always gets in."""

    def __init__(self, cap: int) -> None:
        """None open yet."""
        self.cap = cap
        self.closed_for_room = 0
        self._open: set[Peer] = set()
        self._lobby: dict[Peer, None] = {}  # in the order they came
        self._noticed = -math.inf

    def __len__(self) -> int:
        """How many count (have sent something)."""
        return len(self._open)

    def arrive(self, peer: Peer) -> None:
        """A new connection waits in the lobby; the oldest there makes room if it is full."""
        if len(self._lobby) >= LOBBY_PER_SLOT * self.cap:
            oldest = next(iter(self._lobby))
            del self._lobby[oldest]
            self._make_room(oldest, "sent nothing")
        self._lobby[peer] = None

    def admit(self, peer: Peer) -> None:
        """The peer has begun to send (called once): it counts; at the cap, the least claim makes room."""
        self._lobby.pop(peer, None)
        if len(self._open) >= self.cap:
            victim = min(self._open, key=Peer.claim)
            self._open.discard(victim)
            quiet = time.monotonic() - victim.seen
            self._make_room(victim, f"quiet for {quiet:.1f} s")
        self._open.add(peer)

    def leave(self, peer: Peer) -> None:
        """The connection is closed."""
        self._lobby.pop(peer, None)
        self._open.discard(peer)

    def _make_room(self, peer: Peer, why: str) -> None:
        self.closed_for_room += 1
        now = time.monotonic()
        if now - self._noticed >= NOTICE_SECONDS:
            self._noticed = now
            _LOGGER.info(
                "%d Wyoming connections open (max_connections): closing those with "
                "the least claim to make room for new ones",
                self.cap,
            )
        peer.close(
            f"closed to make room: {why} while {self.cap} connections were open "
            "(max_connections)"
        )
