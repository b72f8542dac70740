"""The agent's link and wire: a server that is not ours, goes quiet, hangs up or sends garbage; events out of bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import json
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.event import Event, async_read_event, async_write_event

from custom_components.alicia import agent_link
from custom_components.alicia.agent_link import (
    NO_SERVER,
    TOO_SLOW,
    AgentLink,
    AgentUnavailable,
    Server,
    failure_of,
    server_of,
)
from custom_components.alicia.bus import agent
from custom_components.alicia.bus.errors import ProtocolError
from tests.conftest import free_port

ASK = agent.Ask("Hi", "en", None, "", ())
type Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def fake_server(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncIterator[Callable[[Script], Awaitable[MockConfigEntry]]]:
    """A Wyoming server answering describe as ours, then following a script; HA's entry for it."""
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> MockConfigEntry:
        async def serve(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            event = await async_read_event(reader)
            if event is not None and event.type == "describe":
                info = {
                    agent.INFO_FIELD: 1,
                    "handle": [{"models": [{"languages": ["en", "de"]}]}],
                }
                await async_write_event(Event("info", info), writer)
            else:
                with contextlib.suppress(ConnectionError):  # the client read and left
                    await script(reader, writer)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        entry = MockConfigEntry(
            domain="wyoming", data={"host": "127.0.0.1", "port": port}
        )
        entry.add_to_hass(hass)
        return entry

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _turn_events(hass: HomeAssistant) -> list[Event]:
    link = AgentLink(hass)
    async with await link.open(ASK) as turn:
        return [await turn.next()]


async def test_a_quiet_server_is_too_slow(
    hass: HomeAssistant, fake_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent_link, "EVENT_SECONDS", 0.2)

    async def quiet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.4)

    await fake_server(quiet)
    with pytest.raises(AgentUnavailable) as raised:
        await _turn_events(hass)
    assert raised.value is TOO_SLOW


async def test_a_server_that_hangs_up_is_no_server(
    hass: HomeAssistant, fake_server: Any
) -> None:
    async def hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        return

    await fake_server(hang_up)
    with pytest.raises(AgentUnavailable) as raised:
        await _turn_events(hass)
    assert raised.value is NO_SERVER


async def test_languages_come_from_describe_and_a_gone_server_is_looked_for_again(
    hass: HomeAssistant, fake_server: Any
) -> None:
    link = AgentLink(hass)
    link.server = Server("127.0.0.1", free_port(), ())  # cached, since stopped
    with pytest.raises(AgentUnavailable):
        await link.open(ASK)
    assert link.server is None

    async def answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await async_write_event(Event(agent.FAILED, {"code": "x", "spoken": 3}), writer)

    await fake_server(answer)
    found = await link.find()
    assert found is not None
    assert found.languages == ("en", "de")
    (event,) = await _turn_events(hass)
    assert failure_of(event).code == "failed"  # a failed event it cannot read


async def test_entries_that_are_not_our_server_are_passed_over(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    MockConfigEntry(domain="wyoming", data={"host": "127.0.0.1"}).add_to_hass(hass)
    MockConfigEntry(
        domain="wyoming", data={"host": "127.0.0.1", "port": free_port()}
    ).add_to_hass(hass)
    assert await AgentLink(hass).find() is None
    assert server_of("h", 1, {"handle": []}) is None  # a peer's server
    odd = {agent.INFO_FIELD: 1, "handle": ["x", {"models": ["y", {"languages": "en"}]}]}
    assert server_of("h", 1, odd) == Server("h", 1, ())


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": "", "system": "", "tools": []}, "text"),
        ({"text": "x" * 8001, "system": "", "tools": []}, "text"),
        ({"text": "hi", "system": "", "tools": {}}, "tools"),
        ({"text": "hi", "system": "", "tools": ["x"]}, "tools"),
        ({"text": "hi", "system": "", "tools": [{"name": "a", "description": ""}]}, "parameters"),
        ({"text": "hi", "system": "", "tools": [
            {"name": "a", "description": "", "parameters": {"x": "y" * 16_001}}]}, "schema"),
        ({"text": "hi", "system": "", "tools": [
            {"name": "a", "description": "", "parameters": {}}] * 2}, "different names"),
        ({"text": "hi", "system": "", "tools": [], "language": ""}, "language"),
    ],
)  # fmt: skip
def test_an_ask_out_of_bounds_is_refused_by_name(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProtocolError, match=field):
        agent.Ask.parse(data)


def test_calls_and_results_round_trip_within_bounds() -> None:
    ask = agent.Ask("hi", "en", "c1", "prompt", (agent.ToolSpec("t", "d", {}),))
    assert agent.Ask.parse(json.loads(json.dumps(ask.data()))) == ask
    calls = agent.Calls((agent.Call("1", "t", "[1]"), agent.Call("2", "t", "{bad")))
    parsed = agent.Calls.parse(calls.data())
    assert [c.arguments_object() for c in parsed.calls] == [{}, {}]
    results = agent.Results.parse(
        {"results": [{"call_id": "1", "output": "x" * 40_000}]}
    )
    assert results.outputs["1"].endswith("(cut off: ask for less)")
    assert len(results.outputs["1"]) < 32_100
    with pytest.raises(ProtocolError, match="output"):
        agent.Results.parse({"results": [{"call_id": "1", "output": 1}]})
    failed = agent.Failed("busy", "Busy.", "Part")
    assert agent.Failed.parse(failed.data()) == failed


async def test_a_server_that_stops_listening_after_describe_is_no_server(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    async def close_at_once(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.close()

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    MockConfigEntry(
        domain="wyoming", data={"host": "127.0.0.1", "port": port}
    ).add_to_hass(hass)
    link = AgentLink(hass)
    assert await link.find() is None  # it closed before saying what it is
    link.server = Server("127.0.0.1", port, ())
    server.close()
    await server.wait_closed()
    link.find = AsyncMock(return_value=Server("127.0.0.1", port, ()))  # type: ignore[method-assign]
    with pytest.raises(AgentUnavailable) as raised:
        await link.open(ASK)
    assert raised.value is NO_SERVER
    assert link.find.await_count == 2  # looked for once more, then gave up
