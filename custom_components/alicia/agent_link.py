"""The link to the Alicia app's Grok: the app's own Wyoming entry, one bounded turn per connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
import logging
from typing import Any, Self

from homeassistant.config_entries import SOURCE_HASSIO, SOURCE_USER, ConfigEntry
from homeassistant.core import HomeAssistant
from wyoming.event import Event, async_write_event
from wyoming.info import Describe

from .bus import agent, agent_proof
from .bus.log_limit import LimitedLog

_LOGGER = logging.getLogger(__name__)
# A server that fails its proof is asked again every turn: said once a minute.
_REFUSED = LimitedLog(_LOGGER)
WYOMING = "wyoming"
# How long a server may take to answer describe, and to say anything during a turn
# (the app's own limit on a whole answer is 10 s by default).
DESCRIBE_SECONDS = 3.0
EVENT_SECONDS = 30.0
# What HA reads of one event: a server may declare any length.
MAX_HEADER = 64 * 1024
MAX_DATA = 1024 * 1024


class AgentUnavailable(Exception):
    """No answer from the app: `code` for the repair, `spoken` for the user."""

    def __init__(self, code: str, spoken: str) -> None:
        """Keep what to say apart from which failure it was."""
        super().__init__(spoken)
        self.code = code
        self.spoken = spoken

    def again(self) -> AgentUnavailable:
        """A fresh one of the same (the module's are templates, raised as copies)."""
        return type(self)(self.code, self.spoken)


class Unproven(AgentUnavailable):
    """A server answering as the app that does not hold the approved voice server's key."""


NO_SERVER = AgentUnavailable(
    "no_server",
    "I can't reach the Alicia app's voice server. Please check that the Alicia app "
    "is running.",
)
TOO_SLOW = AgentUnavailable(
    "timeout", "The Alicia app took too long to answer. Please try again."
)
# Its server accepts but does not answer describe: hung, or very busy (a passing
# failure, no repair; the voice server's own repair comes from its heartbeats).
NOT_ANSWERING = AgentUnavailable(
    "timeout", "The Alicia app is not answering right now. Please try again."
)
NOT_PROVEN = Unproven(
    "no_server",
    "I can't be sure the voice server I reach is the Alicia app. Please approve the "
    "Alicia app's voice server in Home Assistant.",
)
# The app says why it shows no proof: HA's address is not among its trusted
# clients (the same repair as an ask it refuses), or it runs without its bridge.
NOT_TRUSTED = Unproven(
    "not_allowed",
    "This Home Assistant is not among the Alicia app's trusted clients, so I can't "
    "answer here.",
)
NO_BRIDGE = Unproven(
    "no_server",
    "The Alicia app runs without its connection to your MQTT broker, so it can't "
    "show it is the voice server you approved.",
)
GARBLED = AgentUnavailable(
    "failed", "Sorry, the Alicia app's answer came back garbled."
)


# The keys a server must prove it holds (device id: public key): the approved
# voice servers'; None when the user turned security off.
type ProofKeys = Callable[[], Mapping[str, str] | None]


def to_prove(
    keys: Mapping[str, str] | None, *, typed_in: bool
) -> Mapping[str, str] | None:
    """The keys a server must prove it holds now; None: it is taken at its word.

    Every server proves once a voice server's key is known: any add-on can make a
    Supervisor discovery and answer describe as the app. Before the bridge is
    approved no key is known: a Supervisor's discovery is then taken as it is, so
    the agent answers from the first setup; one typed in by hand waits for the
    approval.
    """
    return keys if keys or typed_in else None


@dataclass(frozen=True, slots=True)
class Server:
    """A Wyoming server that speaks Alicia's agent events, and its answer's languages."""

    host: str
    port: int
    languages: tuple[str, ...]
    # Typed in by hand (not a Supervisor discovery): it proves it is the app each
    # turn, unless security is off at that turn, even before any key is known.
    typed_in: bool = False


def server_of(
    host: str, port: int, info: Mapping[str, Any], *, typed_in: bool = False
) -> Server | None:
    """The server, if its describe answer says it speaks our agent events."""
    version = info.get(agent.INFO_FIELD)
    if type(version) is not int or version != agent.AGENT_VERSION:
        return None
    languages: list[str] = []
    programs = info.get("handle")
    for program in programs if isinstance(programs, list) else []:
        models = program.get("models") if isinstance(program, dict) else None
        for model in models if isinstance(models, list) else []:
            found = model.get("languages") if isinstance(model, dict) else None
            if isinstance(found, list):
                languages += [str(lang)[:35] for lang in found[:100]]
    return Server(host, port, tuple(dict.fromkeys(languages)), typed_in)


def candidates(hass: HomeAssistant) -> list[ConfigEntry[Any]]:
    """The Wyoming entries that may be the app: the Supervisor's discoveries where there are any.

    Only an add-on can make a Supervisor discovery, but any add-on can; without
    one (HA Container, Core) only entries the user typed in. Of either, only one
    that proves it holds the approved voice server's key (bus/agent_proof.py,
    to_prove): another server answering as the app would otherwise get the user's
    words, HA's prompt and the right to call Assist's tools. Nothing HA
    discovered on the network is asked.
    """
    entries = hass.config_entries.async_entries(WYOMING)
    supervised = [e for e in entries if e.source == SOURCE_HASSIO]
    return supervised or [e for e in entries if e.source == SOURCE_USER]


class AgentLink:
    """Finds the app among the allowed Wyoming entries (once, again after a failure) and opens turns."""

    def __init__(self, hass: HomeAssistant, keys: ProofKeys) -> None:
        """Nothing found yet; keys() gives what a server must prove (to_prove)."""
        self.hass = hass
        self.keys = keys
        self.server: Server | None = None
        # Why the last look's server answering as ours was not taken: it did not prove it.
        self.unproven: Unproven | None = None

    async def find(self) -> Server | None:
        """The app's server; None if no allowed entry answers as ours."""
        if self.server is not None:
            return self.server
        self.unproven = None
        for entry in candidates(self.hass):
            host, port = entry.data.get("host"), entry.data.get("port")
            if not isinstance(host, str) or not isinstance(port, int):
                continue
            typed_in = entry.source != SOURCE_HASSIO
            try:
                info = await self._describe(host, port, typed_in=typed_in)
            except (OSError, TimeoutError, AgentUnavailable) as err:
                _LOGGER.debug("No describe from %s:%s: %r", host, port, err)
                if isinstance(err, Unproven):
                    self.unproven = err
                continue
            if (server := server_of(host, port, info, typed_in=typed_in)) is not None:
                self.server = server
                return server
        return None

    async def _describe(
        self, host: str, port: int, *, typed_in: bool
    ) -> Mapping[str, Any]:
        turn = await Turn.connect(host, port)
        try:
            info = await turn.describe()
            if server_of(host, port, info) is not None:
                await turn.prove(to_prove(self.keys(), typed_in=typed_in))
            return info
        finally:
            await turn.close()

    async def open(self, ask: agent.Ask) -> Turn:
        """A connection to the app with the ask sent (AgentUnavailable if none is reached)."""
        for attempt in range(2):
            server = await self.find()
            if server is None:
                raise (self.unproven or NO_SERVER).again()
            try:
                turn = await Turn.connect(server.host, server.port)
            except (OSError, TimeoutError) as err:
                _LOGGER.debug("The app at %s failed (%d): %r", server, attempt, err)
                self.server = None  # it moved or stopped: look again, once
                continue
            try:
                # Alive, and still ours, before the user's words go out on it.
                info = await turn.describe()
            except AgentUnavailable:
                await turn.close()
                self.server = None
                raise  # hung: asking again would only wait again
            if server_of(server.host, server.port, info) is None:
                _LOGGER.debug("%s is no longer the app", server)
                await turn.close()
                self.server = None  # another server took its address: look again
                continue
            # The mode and keys now, not when it was found.
            if (keys := to_prove(self.keys(), typed_in=server.typed_in)) is not None:
                try:
                    await turn.prove(keys)
                except AgentUnavailable:
                    await turn.close()
                    self.server = None
                    continue
            try:
                await turn.send(Event(agent.ASK, ask.data()))
            except AgentUnavailable:
                await turn.close()
                self.server = None
                continue
            return turn
        raise NO_SERVER.again()


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event within HA's own bounds (GARBLED past them); None at the end."""
    try:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            return None
        header = json.loads(line)
        kind = header.get("type") if isinstance(header, dict) else None
        length = header.get("data_length") or 0
        payload = header.get("payload_length") or 0
        if (
            not isinstance(kind, str)
            or type(length) is not int
            or type(payload) is not int
        ):
            raise GARBLED.again()
        if not 0 <= length <= MAX_DATA or payload != 0:
            raise GARBLED.again()
        data = header.get("data") or {}
        if length:
            data = {**data, **json.loads(await reader.readexactly(length))}
    except asyncio.IncompleteReadError:
        return None
    except (ValueError, TypeError, RecursionError) as err:  # lines past the limit too
        raise GARBLED.again() from err
    if not isinstance(data, dict):
        raise GARBLED.again()
    return Event(kind, data)


class Turn:
    """One turn on its own connection: the app's events, HA's results."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """The connection the ask goes out on."""
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host: str, port: int) -> Turn:
        """A connection with HA's header limit."""
        async with asyncio.timeout(DESCRIBE_SECONDS):
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEADER)
        return cls(reader, writer)

    async def __aenter__(self) -> Self:
        """The turn."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Hang up."""
        await self.close()

    async def close(self) -> None:
        """Hang up without waiting on the peer."""
        self.writer.close()

    async def send(self, event: Event) -> None:
        """One event to the app (NO_SERVER if it is gone or not reading)."""
        try:
            async with asyncio.timeout(EVENT_SECONDS):
                await async_write_event(event, self.writer)
        except (OSError, TimeoutError) as err:
            raise NO_SERVER.again() from err

    async def next(self) -> Event:
        """The app's next event (AgentUnavailable if it goes quiet, away or garbled)."""
        try:
            async with asyncio.timeout(EVENT_SECONDS):
                event = await read_event(self.reader)
        except TimeoutError as err:
            raise TOO_SLOW.again() from err
        except OSError as err:
            raise NO_SERVER.again() from err
        if event is None:
            raise NO_SERVER.again()
        return event

    async def describe(self) -> Mapping[str, Any]:
        """The app's info within seconds: NOT_ANSWERING if not (a hung app's kernel still accepts)."""
        try:
            async with asyncio.timeout(DESCRIBE_SECONDS):
                await async_write_event(Describe().event(), self.writer)
                while (event := await read_event(self.reader)) is not None:
                    if event.type == "info":
                        return event.data
        except TimeoutError as err:
            raise NOT_ANSWERING.again() from err
        except OSError as err:
            raise NO_SERVER.again() from err
        raise NO_SERVER.again()

    async def prove(self, keys: Mapping[str, str] | None) -> None:
        """NOT_PROVEN unless the server signs a fresh nonce with one of keys (None: nothing to prove)."""
        if keys is None:
            return
        challenge = agent_proof.challenge()
        await self.send(Event(agent_proof.PROVE, challenge))
        try:
            async with asyncio.timeout(DESCRIBE_SECONDS):
                event = await read_event(self.reader)
        except (TimeoutError, OSError) as err:
            raise NOT_PROVEN.again() from err
        if event is not None and event.type == agent_proof.PROOF:
            refused = event.data.get("refused")
            if refused == agent_proof.NOT_ALLOWED:
                raise NOT_TRUSTED.again()
            if refused == agent_proof.NO_BRIDGE:
                raise NO_BRIDGE.again()
        if (
            event is None
            or event.type != agent_proof.PROOF
            or agent_proof.prover(event.data, challenge["nonce"], keys) is None
        ):
            _REFUSED.log(
                logging.WARNING, "unproven",
                "A Wyoming server answering as the Alicia app (%s) did not prove it "
                "holds the approved voice server's key: not asked",
                self.writer.get_extra_info("peername"),
            )  # fmt: skip
            raise NOT_PROVEN.again()

    async def results(self, outputs: dict[str, str]) -> None:
        """HA's tools' results for the round the app waits on."""
        await self.send(Event(agent.RESULTS, agent.Results(outputs).data()))


def failure_of(event: Event) -> AgentUnavailable:
    """The app's failed event as what to say and which failure it was."""
    try:
        failed = agent.Failed.parse(event.data)
    except ValueError:
        failed = agent.Failed("failed", "Sorry, the Alicia app could not answer that.")
    return AgentUnavailable(failed.code, failed.spoken)
