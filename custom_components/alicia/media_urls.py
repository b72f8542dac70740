"""Media addresses a device may not hand to Home Assistant: those on HA's host or its network."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from urllib.parse import urlsplit

from homeassistant.core import HomeAssistant

from .bus.text import excerpt

# Names that only a home's own resolver answers (RFC 6761, 6762, 8375, ICANN's
# .internal and common router defaults).
LOCAL_SUFFIXES = (
    "localhost", "local", "internal", "home.arpa", "lan", "home", "localdomain",
    "intranet", "corp",
)  # fmt: skip
# Private ranges (RFC 1918, shared address space: carrier NAT and VPNs, unique local).
PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                "0.0.0.0/8", "fc00::/7", "fec0::/10")
)  # fmt: skip
NAT64 = ipaddress.ip_network("64:ff9b::/96")
HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)+")
# An authority every parser splits alike: user info, then a name or a bracketed
# address alone, then a port's digits. Python before 3.13.2 (and yarl 1.22) read
# 127.0.0.1:80[2001:db8::1] as the bracketed address; ffmpeg reads 127.0.0.1:80.
AUTHORITY = re.compile(r"(?:.*@)?(?:\[[^\[\]@]*\]|[^\[\]:@]*)(?::[0-9]*)?")
# Texts a player reads as an address (browsers, a Cast receiver and ffmpeg need no
# "//" after http:, browsers read a backslash as a slash; after leading blanks,
# with tabs and newlines dropped, as browsers and urlsplit read them).
ADDRESS = re.compile(
    r"(?:https?|wss?|ftp|file):|[a-z][a-z0-9+.-]*:[/\\]|[/\\]{2}", re.IGNORECASE
)
UNREAD = dict.fromkeys(map(ord, "\t\n\r"))
BLANKS = "".join(map(chr, range(0x21)))
# How long a device's name may take to resolve: a player would wait no longer.
RESOLVE_TIMEOUT = 2.0
INTERNAL = (
    "Home Assistant's host or its network (loopback, private, link-local or a "
    "local name)"
)


def is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on HA's host or its network (IPv4 inside IPv6 read as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or any(address in net for net in PRIVATE)
    )


def is_address(text: str) -> bool:
    """Whether a player could read the text as an address to fetch (then it is checked)."""
    return "://" in text or bool(ADDRESS.match(text.translate(UNREAD).lstrip(BLANKS)))


def internal_host(url: str) -> str | None:
    """The host of a URL if it is on HA's host or its network; None for a public one.

    Players such as ESPHome's fetch a URL on HA's host (ffmpeg): a device's URL
    would be a request from HA's network position. Decided on the host as
    written, nothing resolved: a number spelled other than plainly is refused.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return excerpt(url)
    if not host or not AUTHORITY.fullmatch(parts.netloc):
        return excerpt(url)
    host = host.removesuffix(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        last = host.rpartition(".")[2]
        if (
            not HOST_NAME.fullmatch(host)
            or last.isdigit()
            or last.startswith("0x")  # 127.1, 0x7f.1: addresses to the resolver
            or f".{host}".endswith(tuple(f".{s}" for s in LOCAL_SUFFIXES))
        ):
            return excerpt(host)
        return None  # a name with a dot, not a local one
    return excerpt(host) if is_internal(address) else None


async def async_unfetchable(hass: HomeAssistant, url: str) -> str | None:
    """Why HA's host may not fetch a device's URL, naming its host; None for a public one.

    The host as written first (internal_host); a name must then resolve, within
    RESOLVE_TIMEOUT, to public addresses only: a public name can answer with
    127.0.0.1. One that does not resolve is refused too: a player could not
    fetch it, and a failing resolver is no way around the check.
    """
    if (host := internal_host(url)) is not None:
        return f"{host} is {INTERNAL}"
    name = (urlsplit(url).hostname or "").removesuffix(".")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return None  # a public address as written: nothing to resolve
    # Not closed: the player resolves again to fetch; a rebinding name still passes.
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            found = await hass.loop.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except TimeoutError:
        return f"{excerpt(name)} did not resolve within {RESOLVE_TIMEOUT:g} s"
    except (OSError, UnicodeError):
        found = []
    if not found:
        return f"{excerpt(name)} does not resolve"
    for *_, sockaddr in found:
        try:
            address = ipaddress.ip_address(str(sockaddr[0]))
        except ValueError:
            return f"{excerpt(name)} resolves to an unreadable address"
        if is_internal(address):
            return f"{excerpt(name)} resolves to {excerpt(str(address))}, {INTERNAL}"
    return None
