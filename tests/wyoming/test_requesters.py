"""Who a Wyoming client is: its address, and for a stranger on IPv6 its /64."""

from __future__ import annotations

from typing import Any

from wyoming_services.authority import wyoming_client

TRUSTED = ("127.0.0.1", "::1", "2001:db8:1::10")


class Peer:
    """A stream writer that has a peer address and nothing else."""

    def __init__(self, address: str) -> None:
        self.address = address

    def get_extra_info(self, name: str) -> Any:
        return (self.address, 5555, 0, 0) if name == "peername" else None


def who(address: str) -> tuple[str, bool]:
    authority = wyoming_client(Peer(address), TRUSTED)  # type: ignore[arg-type]
    return authority.who, authority.may_act


def test_a_stranger_rotating_addresses_in_its_64_is_one_requester() -> None:
    """The attack: each address of a /64 got its own question budget and audio burst."""
    first, second = who("2001:db8:5::1"), who("2001:db8:5::ffff:1234")
    assert first == second == ("wyoming:2001:db8:5::/64", False)
    assert who("2001:db8:6::1")[0] != first[0]


def test_trusted_and_ipv4_clients_keep_their_own_address() -> None:
    """Home Assistant's address is its own; IPv4 (mapped or not) is per address."""
    assert who("2001:db8:1::10") == ("wyoming:2001:db8:1::10", True)
    assert who("::ffff:192.168.1.9") == ("wyoming:192.168.1.9", False)
    assert who("192.168.1.9") == ("wyoming:192.168.1.9", False)
