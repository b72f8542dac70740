"""A requester's authority: who asks, and whether Grok may act on the home for them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import ipaddress
from typing import Protocol
import weakref

EVERYONE = "*"
# What a socket without an address (unix://, stdio://) is: a process on this machine.
LOCAL = ipaddress.ip_address("127.0.0.1")
# Whoever relays a connection to a published port connects from one of these: the
# container's loopback, or the Supervisor's hassio network (its gateway, 172.30.32.1,
# is the host: Docker's userland proxy, other add-ons reaching the host's address).
# On the public listener they stand for anyone, so no list can make them trusted.
RELAYS = tuple(
    ipaddress.ip_network(net)
    for net in ("127.0.0.0/8", "::1/128", "172.30.32.0/23", "fd0c:ac1e:2100::/48")
)


@dataclass(frozen=True, slots=True)
class Authority:
    """Who asks (a device id, a client address), whether home tools are theirs to use, and where they are.

    area: the HA area of an approved device asking on the bus (its "the lights").
    key: the fingerprint of the key its request was verified with (on the bus).
    """

    who: str
    may_act: bool
    area: str | None = None
    key: str | None = None

    @property
    def holder(self) -> str:
        """Who a conversation is held for: the requester, under the key it proved.

        A device whose key the user replaced starts anew: what was said under the
        old key is not the new key holder's to continue (and read back).
        """
        return f"{self.who} {self.key}" if self.key else self.who


def valid_client(entry: str) -> bool:
    """An entry of wyoming_trusted_clients: *, an address or a network (192.168.1.0/24)."""
    if entry == EVERYONE:
        return True
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _address(
    writer: asyncio.StreamWriter,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str:
    """The peer's address (LOCAL for a socket without one), or its text if it is none."""
    peer = writer.get_extra_info("peername")
    address = peer[0] if isinstance(peer, tuple) and peer else None
    try:
        ip = LOCAL if not address else ipaddress.ip_address(str(address))
    except ValueError:
        return str(address)[:64]
    # A dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_relay(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | str) -> bool:
    """Whether the address is a relay's (RELAYS): on a published port, anyone."""
    return not isinstance(ip, str) and any(ip in net for net in RELAYS)


def relayed(writer: asyncio.StreamWriter) -> bool:
    """Whether the peer has a relay's address (RELAYS): on a published port, anyone."""
    return _is_relay(_address(writer))


def wyoming_client(
    writer: asyncio.StreamWriter,
    trusted: Sequence[str],
    *,
    public: bool = False,
    lan: bool | None = None,
) -> Authority:
    """A Wyoming connection's authority, from its peer's address, the listener and the trusted list.

    The Wyoming protocol has no authentication: the address is all there is, so only
    the addresses the user trusts (Home Assistant's own) get home tools. public: the
    connection came to a port that is or may be published (wyoming_lan_port; the
    uri's until the Supervisor says it is not), where a relay's address (RELAYS) is
    never trusted, whatever the list says. lan (by default, public): a relay's
    address there stands for the LAN peers Docker relayed to a published port, a
    requester of their own (`wyoming-lan:`) sharing no budget, place or transcript
    with Home Assistant. Any other address is the same requester on both ports.
    """
    ip = _address(writer)
    if isinstance(ip, str):
        return Authority(f"wyoming:{ip}", False)
    relay = _is_relay(ip)
    scheme = "wyoming-lan" if relay and (public if lan is None else lan) else "wyoming"
    may_act = not (public and relay) and any(
        entry == EVERYONE
        or (valid_client(entry) and ip in ipaddress.ip_network(entry, strict=False))
        for entry in trusted
    )
    if isinstance(ip, ipaddress.IPv6Address) and not may_act:
        # A host is given a /64: every address in it is one requester, or each of
        # its addresses would get a budget, a burst and a place of its own.
        return Authority(
            f"{scheme}:{ipaddress.ip_network(f'{ip}/64', strict=False)}", False
        )
    return Authority(f"{scheme}:{ip}", may_act)


def beyond_relays(trusted: Sequence[str]) -> list[str]:
    """The trusted entries that reach past this machine and the Supervisor's network (RELAYS)."""
    wide = []
    for entry in trusted:
        net = None if entry == EVERYONE else ipaddress.ip_network(entry, strict=False)
        if net is None or not any(
            net.version == relay.version and net.subnet_of(relay)  # type: ignore[arg-type]
            for relay in RELAYS
        ):
            wide.append(entry)
    return wide


class Distrusted(Protocol):
    """A connection that can be let go once its peer is no longer trusted."""

    def distrusted(self) -> bool:
        """Its trust was taken back: close it; whether it was open."""


class UriPort:
    """Whether Home Assistant's port (the uri's) is published on the network, as far as the app knows.

    Published, or not known yet, a relay's address there may be anyone: it is not
    trusted, as on the public port; published, it is also the public port's relays'
    requester. The connections a relay opened as trusted are closed when it turns
    out published.
    """

    def __init__(self, published: bool | None = False) -> None:
        """Not published, published, or not known yet (None: the add-on asks the Supervisor)."""
        self.published = published
        self._trusted_relays: weakref.WeakSet[Distrusted] = weakref.WeakSet()
        self._relays_before_known: weakref.WeakSet[Distrusted] = weakref.WeakSet()

    @property
    def public(self) -> bool:
        """Whether a relay's connection accepted now is untrusted, as on the public port."""
        return self.published is not False

    @property
    def lan(self) -> bool:
        """Whether a relay's connection accepted now is the public port's relayed strangers' requester."""
        # Only once published: its relays are then LAN strangers too, and HA is already
        # one of them. Not known yet, HA keeps its own requester.
        return self.published is True

    def accepted(self, connection: Distrusted, trusted: bool) -> None:
        """A relay's connection accepted: trusted (the port not published), or before the port is known."""
        if trusted:
            self._trusted_relays.add(connection)
        elif self.published is None:
            self._relays_before_known.add(connection)

    def turned_published(self) -> int:
        """It is published: relays are strangers from now on; how many of their connections were closed.

        Those accepted before it was known go too, though untrusted: they are HA's
        requester (`wyoming:`), where the LAN's relayed strangers are `wyoming-lan:`;
        kept, one LAN peer would be two requesters (twice the share, pace and questions).
        """
        self.published = True
        closing = [*self._trusted_relays, *self._relays_before_known]
        self._trusted_relays.clear()
        self._relays_before_known.clear()
        return sum(connection.distrusted() for connection in closing)


def peer_name(writer: asyncio.StreamWriter) -> str:
    """A connection's peer as the log names it: address and port."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "a local client"
