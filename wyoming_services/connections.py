"""The Wyoming connections open at once: at the cap, the one with the least claim makes room.

A connection counts once it has sent a first byte; until then it waits in a lobby
of its own (four times the cap), where the oldest makes room for the newest. A
client sends its first event as it connects, so it passes through the lobby at
once, while a flood of silent connections only ever pushes itself out.

A trusted client's connection (wyoming_trusted_clients: Home Assistant) has more
claim than any other and never makes room for a stranger: a stranger arriving when
every place is a trusted client's is refused itself. One untrusted address holds
at most half the places (never fewer than MIN_PER_ADDRESS): past that, its own
connection with the least claim makes room.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import logging
import time

from alicia_bus.log_limit import LimitedLog

_LOGGER = logging.getLogger(__name__)
# Making room is logged at most this often; each closed connection is a debug line.
NOTICE_SECONDS = 60.0
LOBBY_PER_SLOT = 4
# The places one untrusted address may hold: a share of the cap, but never fewer
# than a few (a satellite and its pipeline open several at once).
PER_ADDRESS_SHARE = 0.5
MIN_PER_ADDRESS = 4


class NotAdmitted(ConnectionError):
    """Every place is a trusted client's: the newcomer was refused (and told)."""


class Peer:
    """One connection's standing: what it is doing, and when it last showed life."""

    def __init__(
        self,
        name: str,
        close: Callable[[str], None],
        streaming: Callable[[], bool],
        *,
        address: str = "",
        trusted: bool = False,
    ) -> None:
        """A connection just opened; close(reason) lets it go, streaming() tells if a stream is open.

        address: the client's (its connections share a bound); trusted: a
        wyoming_trusted_clients connection, with more claim than any other.
        """
        self.name = name
        self.address = address
        self.trusted = trusted
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

    def claim(self) -> tuple[bool, int, float]:
        """The lowest claim makes room first: trusted or not, what it does, how long it was quiet."""
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
        return self.trusted, rank, self.seen


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
        self.per_address = max(MIN_PER_ADDRESS, int(cap * PER_ADDRESS_SHARE))
        self._lobby: dict[Peer, None] = {}  # in the order they came
        self._notice = LimitedLog(_LOGGER, NOTICE_SECONDS)

    def __len__(self) -> int:
        """How many count (have sent something)."""
        return len(self._open)

    def arrive(self, peer: Peer) -> None:
        """A new connection waits in the lobby; the oldest there makes room if it is full."""
        if len(self._lobby) >= LOBBY_PER_SLOT * self.cap:
            lobby = self._lobby
            oldest = next((p for p in lobby if not p.trusted), next(iter(lobby)))
            del self._lobby[oldest]
            self._make_room(
                oldest, f"closed to make room: sent nothing while "
                f"{LOBBY_PER_SLOT * self.cap} connections waited to begin",
            )  # fmt: skip
        self._lobby[peer] = None

    def admit(self, peer: Peer) -> bool:
        """The peer has begun to send (called once): it counts; at the cap, the least claim makes room.

        False: the peer itself was refused (and closed), every place being a
        trusted client's.
        """
        self._lobby.pop(peer, None)
        victim, held = self._making_room_for(peer)
        if victim is peer:
            self._make_room(
                peer, f"refused: all {self.cap} connections (max_connections) are "
                "trusted clients'",
            )  # fmt: skip
            return False
        if victim is not None:
            self._open.discard(victim)
            quiet = time.monotonic() - victim.seen
            self._make_room(
                victim, f"closed to make room: quiet for {quiet:.1f} s while {held}"
            )
        self._open.add(peer)
        return True

    def _making_room_for(self, peer: Peer) -> tuple[Peer | None, str]:
        """Who makes room for peer (nobody, another, or the peer itself), and what was full."""
        if not peer.trusted:
            # Only its own kind: a trusted connection from the same address (HA's,
            # where a relay is anyone) never makes room for a stranger.
            own = [p for p in self._open if p.address == peer.address and not p.trusted]
            if len(own) >= self.per_address:
                held = f"its address held {len(own)} connections (max_connections/2)"
                return min(own, key=Peer.claim), held
        held = f"{self.cap} connections were open (max_connections)"
        if len(self._open) < self.cap:
            return None, held
        if peer.trusted:
            return min(self._open, key=Peer.claim), held
        strangers = [p for p in self._open if not p.trusted]
        return min(strangers, key=Peer.claim, default=peer), held

    def leave(self, peer: Peer) -> None:
        """The connection is closed."""
        self._lobby.pop(peer, None)
        self._open.discard(peer)

    def _make_room(self, peer: Peer, reason: str) -> None:
        self.closed_for_room += 1
        self._notice.log(
            logging.INFO, "room",
            "%d Wyoming connections open (max_connections): closing those with "
            "the least claim to make room for new ones",
            self.cap,
        )  # fmt: skip
        peer.close(reason)
