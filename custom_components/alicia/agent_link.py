"""The link to the Alicia app's Grok: found among HA's Wyoming servers, one turn per connection."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
import logging
from typing import Any, Self

from homeassistant.core import HomeAssistant
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe

from .bus import agent
from .bus.errors import ProtocolError

_LOGGER = logging.getLogger(__name__)
WYOMING = "wyoming"
# How long a server may take to answer describe, and to say anything during a turn
# (the app's own limit on a whole answer is 10 s by default).
DESCRIBE_SECONDS = 3.0
EVENT_SECONDS = 30.0


class AgentUnavailable(Exception):
    """No answer from the app: `code` for the repair, `spoken` for the user."""

    def __init__(self, code: str, spoken: str) -> None:
        """Keep what to say apart from which failure it was."""
        super().__init__(spoken)
        self.code = code
        self.spoken = spoken


NO_SERVER = AgentUnavailable(
    "no_server",
    "I can't reach the Alicia app's voice server. Please check that the Alicia app "
    "is running.",
)
TOO_SLOW = AgentUnavailable(
    "timeout", "The Alicia app took too long to answer. Please try again."
)


@dataclass(frozen=True, slots=True)
class Server:
    """A Wyoming server that speaks Alicia's agent events, and its answer's languages."""

    host: str
    port: int
    languages: tuple[str, ...]


def server_of(host: str, port: int, info: Mapping[str, Any]) -> Server | None:
    """The server, if its describe answer says it speaks our agent events."""
    if info.get(agent.INFO_FIELD) != agent.AGENT_VERSION:
        return None
    languages: list[str] = []
    for program in info.get("handle") or []:
        for model in (program.get("models") or []) if isinstance(program, dict) else []:
            if isinstance(model, dict) and isinstance(model.get("languages"), list):
                languages += [str(lang) for lang in model["languages"]]
    return Server(host, port, tuple(dict.fromkeys(languages)))


class AgentLink:
    """Finds the app among HA's Wyoming servers (once, again after a failure) and opens turns."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Nothing found yet."""
        self.hass = hass
        self.server: Server | None = None

    async def find(self) -> Server | None:
        """The app's server among HA's Wyoming entries; None if none answers as ours."""
        if self.server is not None:
            return self.server
        entries = self.hass.config_entries.async_entries(WYOMING)
        # The app's own entry (the Supervisor's discovery) before any typed in by hand.
        for entry in sorted(entries, key=lambda e: e.source != "hassio"):
            host, port = entry.data.get("host"), entry.data.get("port")
            if not isinstance(host, str) or not isinstance(port, int):
                continue
            try:
                info = await _describe(host, port)
            except (OSError, TimeoutError, ValueError) as err:
                _LOGGER.debug("No describe from %s:%s: %r", host, port, err)
                continue
            if (server := server_of(host, port, info)) is not None:
                self.server = server
                return server
        return None

    async def open(self, ask: agent.Ask) -> Turn:
        """A connection to the app with the ask sent (AgentUnavailable if none is reached)."""
        for attempt in range(2):
            server = await self.find()
            if server is None:
                raise NO_SERVER
            client = AsyncTcpClient(server.host, server.port)
            try:
                async with asyncio.timeout(DESCRIBE_SECONDS):
                    await client.connect()
                await client.write_event(Event(agent.ASK, ask.data()))
            except (OSError, TimeoutError) as err:
                _LOGGER.debug(
                    "The app's server at %s failed (%d): %r", server, attempt, err
                )
                await client.disconnect()
                self.server = None  # it moved or stopped: look again, once
                continue
            return Turn(client)
        raise NO_SERVER


async def _describe(host: str, port: int) -> Mapping[str, Any]:
    async with asyncio.timeout(DESCRIBE_SECONDS):
        client = AsyncTcpClient(host, port)
        await client.connect()
        try:
            await client.write_event(Describe().event())
            while (event := await client.read_event()) is not None:
                if event.type == "info":
                    return event.data or {}
        finally:
            await client.disconnect()
    raise ValueError("the connection closed before info")


class Turn:
    """One turn on its own connection: the app's events, HA's results."""

    def __init__(self, client: AsyncTcpClient) -> None:
        """The connection the ask went out on."""
        self._client = client

    async def __aenter__(self) -> Self:
        """The turn."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Hang up."""
        await self._client.disconnect()

    async def next(self) -> Event:
        """The app's next event (AgentUnavailable if it goes quiet or away)."""
        try:
            async with asyncio.timeout(EVENT_SECONDS):
                event = await self._client.read_event()
        except TimeoutError as err:
            raise TOO_SLOW from err
        except (OSError, ValueError) as err:
            raise NO_SERVER from err
        if event is None:
            raise NO_SERVER
        return event

    async def results(self, outputs: dict[str, str]) -> None:
        """HA's tools' results for the round the app waits on."""
        try:
            await self._client.write_event(
                Event(agent.RESULTS, agent.Results(outputs).data())
            )
        except OSError as err:
            raise NO_SERVER from err


def failure_of(event: Event) -> AgentUnavailable:
    """The app's failed event as what to say and which failure it was."""
    try:
        failed = agent.Failed.parse(event.data or {})
    except ProtocolError:
        failed = agent.Failed("failed", "Sorry, the Alicia app could not answer that.")
    return AgentUnavailable(failed.code, failed.spoken)
