"""The port meant to be published: a relay's address (the hassio gateway) there is never Home Assistant."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from wyoming.client import AsyncClient
from wyoming.event import Event

from alicia_bus import agent_proof
from tests.conftest import ServerProcess, free_port
from wyoming_services import server
from wyoming_services.authority import Authority, UriPort, wyoming_client
from wyoming_services.connections import Connections, Peer

from .client import describe, read_until


async def proof(uri: str) -> dict[str, Any]:
    """What the server answers a client on uri asking it to sign HA's nonce."""
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Event(agent_proof.PROVE, agent_proof.challenge()))
        events = await asyncio.wait_for(read_until(client, agent_proof.PROOF), 30)
        return dict(events[-1].data)


async def test_a_client_relayed_to_the_public_port_gets_no_proof(
    tmp_path: Path,
) -> None:
    """The attack: Docker's userland proxy relays a LAN client from 172.30.32.1 (here 127.0.0.1).

    On Home Assistant's port that address is HA (trusted: no bridge, so no key, is
    the only reason it gets no signature); on the public port it is anyone, whatever
    the trusted list says, even `*`.
    """
    lan = free_port()
    server = ServerProcess(
        "--wyoming-lan-port", str(lan), "--wyoming-trusted-clients", "127.0.0.1",
        "--wyoming-trusted-clients", "*", log=tmp_path / "server.log",
    )  # fmt: skip
    try:
        await asyncio.to_thread(server.wait_logged, "Serving Wyoming on")
        public = f"tcp://127.0.0.1:{lan}"
        assert await proof(server.uri) == {"refused": agent_proof.NO_BRIDGE}
        assert await proof(public) == {"refused": agent_proof.NOT_ALLOWED}
        # Satellites on the public port are served all the same.
        assert (await describe(public)).tts
    finally:
        server.stop()


class Connection:
    """A stream writer with a peer address and nothing else."""

    def __init__(self, address: str) -> None:
        self.address = address

    def get_extra_info(self, name: str) -> Any:
        return (self.address, 5555) if name == "peername" else None


def trusted(address: str, listed: tuple[str, ...], *, public: bool) -> bool:
    writer: Any = Connection(address)
    return wyoming_client(writer, listed, public=public).may_act


def test_the_hassio_network_is_trusted_only_on_home_assistants_port() -> None:
    """Listed by default for HA, the gateway (and the hassio network, loopback) count for nothing on the public port."""
    defaults = ("127.0.0.1", "::1", "172.30.32.1")
    assert trusted("172.30.32.1", defaults, public=False)
    for relay in ("172.30.32.1", "::ffff:172.30.32.1", "172.30.33.5", "127.0.0.1",
                  "::1", "fd0c:ac1e:2100::1"):  # fmt: skip
        assert not trusted(relay, defaults, public=True), relay
        assert not trusted(relay, ("*", "172.30.0.0/16", "::/0"), public=True), relay


def test_a_satellite_the_user_listed_is_trusted_on_the_public_port() -> None:
    """A LAN address the user listed keeps its trust there (as when 10300 was published)."""
    assert trusted("192.168.1.9", ("192.168.1.0/24",), public=True)
    assert trusted("192.168.1.9", ("*",), public=True)
    assert not trusted("192.168.1.9", ("127.0.0.1", "172.30.32.1"), public=True)


def test_the_public_port_is_another_requester_than_home_assistants() -> None:
    """The lever of a relayed stranger: it was `wyoming:172.30.32.1` too, HA's places, budgets and transcripts."""
    writer: Any = Connection("172.30.32.1")
    defaults = ("127.0.0.1", "::1", "172.30.32.1")
    home = wyoming_client(writer, defaults)
    relay = wyoming_client(writer, defaults, public=True)
    assert (home.who, home.may_act) == ("wyoming:172.30.32.1", True)
    assert (relay.who, relay.may_act) == ("wyoming-lan:172.30.32.1", False)
    satellite: Any = Connection("192.168.1.9")
    assert wyoming_client(satellite, ("192.168.1.0/24",), public=True).may_act


DEFAULTS = ("127.0.0.1", "::1", "172.30.32.1")


@pytest.mark.parametrize(
    ("address", "who"),
    [
        ("192.168.1.66", "wyoming:192.168.1.66"),
        ("::ffff:192.168.1.66", "wyoming:192.168.1.66"),
        ("2001:db8:5::1", "wyoming:2001:db8:5::/64"),
    ],
)
def test_an_address_is_one_requester_on_both_ports(address: str, who: str) -> None:
    """The attack: a LAN address was `wyoming:X` on one port and `wyoming-lan:X` on the other, every budget twice."""
    writer: Any = Connection(address)
    assert wyoming_client(writer, DEFAULTS) == Authority(who, False)
    assert wyoming_client(writer, DEFAULTS, public=True) == Authority(who, False)


def test_an_address_on_both_ports_cannot_push_out_a_relayed_satellite() -> None:
    """With two shares (max_connections/2 each) one address held every place and closed another's satellite."""
    connections = Connections(cap=8)
    closed: list[str] = []

    def opens(name: str, address: str, *, public: bool) -> None:
        writer: Any = Connection(address)
        authority = wyoming_client(writer, DEFAULTS, public=public)
        connections.admit(
            Peer(name, lambda _: closed.append(name), lambda: False,
                 address=authority.who, trusted=authority.may_act)
        )  # fmt: skip

    opens("satellite", "172.30.32.1", public=True)
    for each in range(connections.per_address):
        opens(f"home port {each}", "192.168.1.66", public=False)
        opens(f"public port {each}", "192.168.1.66", public=True)
    assert "satellite" not in closed
    assert len(closed) == connections.per_address


@pytest.mark.parametrize(
    ("published", "home"),
    [
        (None, "wyoming:172.30.32.1"),
        (False, "wyoming:172.30.32.1"),
        (True, "wyoming-lan:172.30.32.1"),
    ],
)
def test_home_assistants_port_is_the_lans_relays_only_once_published(
    published: bool | None, home: str
) -> None:
    """The attack: not known yet, HA on its port was `wyoming-lan:`, the requester of strangers relayed to 10310.

    Published, its relays are LAN strangers as 10310's are: one requester, not two.
    """
    port = UriPort(published=published)
    writer: Any = Connection("172.30.32.1")
    authority = wyoming_client(writer, DEFAULTS, public=port.public, lan=port.lan)
    assert (authority.who, authority.may_act) == (home, published is False)
    stranger = wyoming_client(writer, DEFAULTS, public=True)
    assert stranger.who == "wyoming-lan:172.30.32.1"


class Held:
    """A connection a relay opened as trusted."""

    def __init__(self) -> None:
        self.closed = False

    def distrusted(self) -> bool:
        self.closed = True
        return True


def test_a_relays_trusted_connections_close_when_the_port_turns_out_published() -> None:
    """Not known yet, relays are strangers; a connection trusted before the port turns published is let go."""
    assert UriPort(published=None).public
    port = UriPort(published=False)
    assert not port.public
    held = Held()
    port.accepted(held, trusted=True)
    port.accepted(Held(), trusted=False)  # a relay's stranger, already `wyoming-lan:`
    assert port.turned_published() == 1
    assert held.closed
    assert port.public


def test_a_relays_connections_from_before_the_port_was_known_close_when_it_turns_published() -> (
    None
):
    """The attack: a LAN peer's connections opened before the Supervisor answered stayed HA's requester (`wyoming:`).

    Its later ones were `wyoming-lan:`: one peer, two requesters (twice the share,
    pace and questions) until the first ones hung up.
    """
    port = UriPort(published=None)
    early = Held()
    port.accepted(early, trusted=False)
    assert port.turned_published() == 1
    assert early.closed
    later = Held()
    port.accepted(later, trusted=False)
    assert port.turned_published() == 0
    assert not later.closed


@pytest.mark.parametrize(
    ("listed", "named"),
    [
        (("127.0.0.1", "::1", "172.30.32.1"), None),
        (("172.30.32.0/23", "127.0.0.0/8", "fd0c:ac1e:2100::5"), None),
        (("*",), "*"),
        (("172.30.32.1", "192.168.1.0/24"), "192.168.1.0/24"),
        (("172.30.0.0/16",), "172.30.0.0/16"),
        (("::/0",), "::/0"),
    ],
)
def test_trusting_your_network_is_said_at_start(
    caplog: pytest.LogCaptureFixture, listed: tuple[str, ...], named: str | None
) -> None:
    """A list reaching past this machine and the Supervisor's network trusts LAN peers on both ports: one warning."""
    with caplog.at_level(logging.WARNING, server.__name__):
        server.warn_of_wide_trust(listed, "tcp://0.0.0.0:10300 and tcp://0.0.0.0:10310")
    if named is None:
        assert caplog.records == []
        return
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert f"lists {named}:" in record.getMessage()
    assert (
        "fully trusted on tcp://0.0.0.0:10300 and tcp://0.0.0.0:10310"
        in record.getMessage()
    )
