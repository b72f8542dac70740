"""Refusals are logged at most once a minute per kind: clients that reconnect cannot fill the log."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from wyoming.event import Event, async_read_event, async_write_event

from alicia_bus import agent
from alicia_bus.log_limit import LimitedLog
from tests.conftest import ServerProcess
from wyoming_services import agent_turn
from wyoming_services.agent_turn import AgentTurn
from wyoming_services.authority import Authority

from .client import host_port

STRANGER = "127.0.0.2"  # not in the default wyoming_trusted_clients


async def refused(uri: str, event: Event) -> str:
    """Send event from a stranger's address; the code of the error it gets."""
    reader, writer = await asyncio.open_connection(
        *host_port(uri), local_addr=(STRANGER, 0)
    )
    try:
        await async_write_event(event, writer)
        while (answer := await async_read_event(reader)) is not None:
            if answer.type in ("error", agent.FAILED):
                return str((answer.data or {}).get("code"))
        return "closed"
    finally:
        writer.close()


@pytest.mark.slow
async def test_refusals_from_reconnecting_clients_are_one_line_each_kind(
    wyoming_server: ServerProcess,
) -> None:
    """Twenty refused connections of each kind add at most one warning each."""

    def lines() -> tuple[int, int]:
        log = wyoming_server.log.read_text()
        return log.count("Refused a request"), log.count("Refused an agent turn")

    before = lines()
    chunk = Event("audio-chunk", {"rate": 16000, "width": 2, "channels": 1}, b"\0\0")
    ask = Event(agent.ASK, {"text": "Hello"})
    for _ in range(20):
        assert await refused(wyoming_server.uri, chunk) == "stt-error"
        assert await refused(wyoming_server.uri, ask) == "not_allowed"
    after = lines()
    assert after[0] - before[0] <= 1
    assert after[1] - before[1] <= 1


def test_a_held_back_line_is_counted_in_the_next(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The first line goes out at once; the next, a minute on, counts those held back."""
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    log = LimitedLog(logging.getLogger("test.limited"))
    with caplog.at_level(logging.WARNING, "test.limited"):
        for n in range(5):
            log.log(logging.WARNING, "bad-event", "Refused %d", n)
            log.log(logging.WARNING, "timeout", "Late %d", n)
        now[0] += 60
        log.log(logging.WARNING, "bad-event", "Refused %d", 5)
    assert caplog.messages == [
        "Refused 0",
        "Late 0",
        "Refused 5 (and 4 more like it since the last such line)",
    ]


async def test_home_assistants_unreadable_tool_results_are_a_line_a_minute(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The flood's second half: each unreadable results event was an INFO line of its own."""
    monkeypatch.setattr(agent_turn, "_REFUSALS", LimitedLog(agent_turn._LOGGER))

    async def send(event: Event) -> None:
        raise AssertionError(f"nothing is answered to results: {event.type}")

    home = Authority("wyoming:172.30.32.1", may_act=True)
    turn = AgentTurn(None, send, home, lambda: None)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, agent_turn.__name__):
        kept = [await turn.results({"outputs": ["x" * 40]}) for _ in range(50)]
    assert caplog.text.count("Unreadable tool results") == 1
    assert all(kept)  # HA's connection, kept
