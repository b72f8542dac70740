"""Strangers on the public port: the agent's events refused and let go; Home Assistant's places its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
import io

import pytest
from wyoming.event import Event, async_read_event, async_write_event, write_event
from wyoming.info import Describe

from alicia_bus import agent, agent_proof
from tests.conftest import ServerProcess, free_port

from .client import Streams, host_port, next_event

pytestmark = pytest.mark.slow
# Home Assistant's address on its own port; on the public port a relay's: anyone.
RELAY = "127.0.0.1"


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, str]]:
    """A server of six places (an untrusted address holds four), and its public port's uri."""
    lan = free_port()
    process = ServerProcess(
        "--max-connections", "6", "--wyoming-lan-port", str(lan),
        log=tmp_path_factory.mktemp("public") / "server.log",
    )  # fmt: skip
    try:
        process.wait_logged("Serving Wyoming on")
        yield process, f"tcp://127.0.0.1:{lan}"
    finally:
        process.stop()


async def answers(uri: str, *events: Event) -> list[Event]:
    """What the server sends for events written at once: up to its info, or until it closes."""
    reader, writer = await asyncio.open_connection(*host_port(uri))
    sent = io.BytesIO()
    for each in (*events, Describe().event()):
        write_event(each, sent)
    got: list[Event] = []
    try:
        with contextlib.suppress(ConnectionError):  # it may close before taking all
            writer.write(sent.getvalue())
            await writer.drain()
        while (
            event := await asyncio.wait_for(async_read_event(reader), 30)
        ) is not None:
            got.append(event)
            if event.type == "info":
                break
    finally:
        writer.close()
    return got


async def test_a_stranger_flooding_tool_results_is_refused_once_and_let_go(
    servers: tuple[ServerProcess, str],
) -> None:
    """The attack: a hundred unreadable results on one connection wrote a hundred INFO lines, the connection kept."""
    server, public = servers
    flood = [Event(agent.RESULTS, {"outputs": ["x" * 40]}) for _ in range(100)]
    got = await answers(public, *flood)
    assert [event.type for event in got] == [agent.FAILED]
    assert got[0].data["code"] == "not_allowed"
    log = server.log.read_text()
    assert "Unreadable tool results" not in log
    assert log.count("Refused tool results") == 1


async def test_a_stranger_asking_for_the_proof_is_told_no_and_let_go(
    servers: tuple[ServerProcess, str],
) -> None:
    """As an ask is: refused (the answer HA's agent names) and closed, not served on."""
    _, public = servers
    got = await answers(public, Event(agent_proof.PROVE, agent_proof.challenge()))
    assert [(event.type, event.data) for event in got] == [
        (agent_proof.PROOF, {"refused": agent_proof.NOT_ALLOWED})
    ]


async def counted(uri: str) -> Streams:
    """A connection from the relay's address that has taken its place (its describe answered)."""
    streams = await asyncio.open_connection(*host_port(uri), local_addr=(RELAY, 0))
    await async_write_event(Describe().event(), streams[1])
    assert (await next_event(streams)).type == "info"
    return streams


async def test_a_relayed_stranger_closes_none_of_home_assistants_connections(
    servers: tuple[ServerProcess, str],
) -> None:
    """The attack: HA holding an address's share (4), a stranger relayed from HA's address closed one of HA's.

    On the public port the relay's address is anyone's: it is another requester, and
    HA's trusted connections are never its own to make room among.
    """
    server, public = servers
    home = [await counted(server.uri) for _ in range(4)]
    strangers = [await counted(public) for _ in range(2)]
    try:
        for streams in home:  # each still HA's: answered, not closed for the strangers
            await async_write_event(Describe().event(), streams[1])
            assert (await next_event(streams)).type == "info"
    finally:
        for _, writer in home + strangers:
            writer.close()
