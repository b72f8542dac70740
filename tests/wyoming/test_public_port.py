"""The port meant to be published: a relay's address (the hassio gateway) there is never Home Assistant."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from wyoming.client import AsyncClient
from wyoming.event import Event

from alicia_bus import agent_proof
from tests.conftest import ServerProcess, free_port
from wyoming_services.authority import wyoming_client

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
