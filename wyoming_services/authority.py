"""A requester's authority: who asks, and whether Grok may act on the home for them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import ipaddress

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
    """

    who: str
    may_act: bool
    area: str | None = None


def valid_client(entry: str) -> bool:
    """An entry of wyoming_trusted_clients: *, an address or a network (192.168.1.0/24)."""
    if entry == EVERYONE:
        return True
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def wyoming_client(
    writer: asyncio.StreamWriter, trusted: Sequence[str], *, public: bool = False
) -> Authority:
    """A Wyoming connection's authority, from its peer's address, the listener and the trusted list.

    The Wyoming protocol has no authentication: the address is all there is, so only
    the addresses the user trusts (Home Assistant's own) get home tools. public: the
    connection came to the port meant to be published (wyoming_lan_port), where a
    relay's address (RELAYS) is never trusted, whatever the list says.
    """
    peer = writer.get_extra_info("peername")
    address = peer[0] if isinstance(peer, tuple) and peer else None
    try:
        ip = LOCAL if not address else ipaddress.ip_address(str(address))
    except ValueError:
        return Authority(f"wyoming:{str(address)[:64]}", False)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = (
            ip.ipv4_mapped
        )  # a dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d
    relayed = public and any(ip in net for net in RELAYS)
    may_act = not relayed and any(
        entry == EVERYONE
        or (valid_client(entry) and ip in ipaddress.ip_network(entry, strict=False))
        for entry in trusted
    )
    if isinstance(ip, ipaddress.IPv6Address) and not may_act:
        # A host is given a /64: every address in it is one requester, or each of
        # its addresses would get a budget, a burst and a place of its own.
        return Authority(
            f"wyoming:{ipaddress.ip_network(f'{ip}/64', strict=False)}", False
        )
    return Authority(f"wyoming:{ip}", may_act)


def peer_name(writer: asyncio.StreamWriter) -> str:
    """A connection's peer as the log names it: address and port."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "a local client"
