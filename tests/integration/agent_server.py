"""A Wyoming server that answers describe as the Alicia app, then follows a test's script."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.event import Event, async_read_event, async_write_event

from custom_components.alicia.agent_link import AgentLink
from custom_components.alicia.bus import agent, agent_proof

from .helpers import BRIDGE, BRIDGE_KEY

ASK = agent.Ask("Hi", "en", None, "", ())
type Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
INFO = {agent.INFO_FIELD: 1, "handle": [{"models": [{"languages": ["en", "de"]}]}]}
# The approved voice server's key, as the agent's link sees it.
VOICE_KEYS = {BRIDGE: BRIDGE_KEY.public_key}


def proven_link(hass: HomeAssistant) -> AgentLink:
    """The agent's link, the voice server approved with the bridge's key."""
    return AgentLink(hass, lambda: VOICE_KEYS)


class FakeServers:
    """Servers started for one test, each with HA's Wyoming entry."""

    def __init__(self, hass: HomeAssistant) -> None:
        """None yet."""
        self.hass = hass
        self.servers: list[asyncio.Server] = []

    async def start(self, script: Script, source: str = "hassio") -> MockConfigEntry:
        """One more, its entry added to HA (not set up)."""

        async def serve(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            while (event := await async_read_event(reader)) is not None:
                if event.type == agent_proof.PROVE:
                    nonce = agent_proof.nonce_of(event.data or {})
                    proven = agent_proof.proof(BRIDGE_KEY, BRIDGE, nonce)
                    await async_write_event(Event(agent_proof.PROOF, proven), writer)
                    continue
                if event.type != "describe":
                    with contextlib.suppress(ConnectionError):  # the client left
                        await script(reader, writer)
                    break
                await async_write_event(Event("info", INFO), writer)
            writer.close()

        server, entry = await wyoming_server(self.hass, serve, source)
        self.servers.append(server)
        return entry

    async def close(self) -> None:
        """Every one stopped."""
        for server in self.servers:
            server.close()
            await server.wait_closed()


async def wyoming_server(
    hass: HomeAssistant, serve: Script, source: str = "hassio"
) -> tuple[asyncio.Server, MockConfigEntry]:
    """A server that follows serve from the first byte; HA's Wyoming entry for it (not set up)."""
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    entry = MockConfigEntry(
        domain="wyoming", source=source, data={"host": "127.0.0.1", "port": port}
    )
    entry.add_to_hass(hass)
    return server, entry


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Say nothing, and hang up."""


async def turn_events(hass: HomeAssistant) -> list[Event]:
    """The app's first event of a turn."""
    async with await proven_link(hass).open(ASK) as turn:
        return [await turn.next()]
