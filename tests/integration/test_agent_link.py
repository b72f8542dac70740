"""The agent's wire: a server that goes quiet, hangs up or sends garbage; events out of bounds."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir, llm
from homeassistant.helpers.chat_session import DATA_CHAT_SESSION
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol
from wyoming.event import Event, async_read_event, async_write_event

from custom_components.alicia import agent_link, conversation as alicia_conversation
from custom_components.alicia.agent_chat import (
    answer,
    ask_of,
    conversation_key,
    tool_spec,
)
from custom_components.alicia.agent_link import (
    GARBLED,
    NO_SERVER,
    TOO_SLOW,
    AgentUnavailable,
)
from custom_components.alicia.bus import agent
from custom_components.alicia.bus.errors import ProtocolError
from custom_components.alicia.const import DOMAIN

from .agent_server import turn_events


async def test_a_quiet_server_is_too_slow(
    hass: HomeAssistant, fake_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent_link, "EVENT_SECONDS", 0.2)

    async def quiet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.4)

    await fake_server(quiet)
    with pytest.raises(AgentUnavailable) as raised:
        await turn_events(hass)
    assert raised.value.code == TOO_SLOW.code


async def test_a_server_that_hangs_up_is_no_server(
    hass: HomeAssistant, fake_server: Any
) -> None:
    async def hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        return

    await fake_server(hang_up)
    with pytest.raises(AgentUnavailable) as raised:
        await turn_events(hass)
    assert raised.value.code == NO_SERVER.code


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


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type": "alicia-agent-delta", "data_length": 400000000}\n',
        b'{"type": "alicia-agent-delta", "data_length": "5"}\n',
        b'{"type": "alicia-agent-delta", "payload_length": 10}\n',
        b'{"type": "alicia-agent-delta", "data": 5}\n',
        b'{"type": "alicia-agent-delta", "data_length": 3}\n[1]',
        b"[" * 100_000 + b"\n",
        b'{"type": 5}\n',
    ],
)
async def test_a_frame_out_of_bounds_is_garbled_before_it_is_read(
    hass: HomeAssistant, fake_server: Any, frame: bytes
) -> None:
    async def garbage(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(frame)
        await writer.drain()
        await asyncio.sleep(0.2)

    await fake_server(garbage)
    with pytest.raises(AgentUnavailable) as raised:
        await turn_events(hass)
    assert raised.value.code == "failed"


async def _write(writer: asyncio.StreamWriter, kind: str, data: dict[str, Any]) -> None:
    await async_write_event(Event(kind, data), writer)


async def _converse(hass: HomeAssistant) -> str:
    result = await conversation.async_converse(
        hass,
        "What time is it?",
        None,
        Context(),
        language="en",
        agent_id="conversation.alicia",
    )
    return str(result.response.speech["plain"]["speech"])


async def test_a_server_that_never_stops_talking_is_cut_off(
    hass: HomeAssistant, agent_entry: MockConfigEntry, fake_server: Any
) -> None:
    async def endless(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            await _write(writer, agent.DELTA, {"text": "blah " * 1000})

    await fake_server(endless)
    assert await _converse(hass) == GARBLED.spoken


async def test_a_server_that_calls_tools_forever_gets_five_rounds(
    hass: HomeAssistant, agent_entry: MockConfigEntry, fake_server: Any
) -> None:
    rounds = 0

    async def loop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal rounds
        while True:
            rounds += 1
            call = {
                "call_id": f"c{rounds}",
                "name": "GetLiveContext",
                "arguments": "{}",
            }
            await _write(writer, agent.CALLS, {"calls": [call]})
            if await async_read_event(reader) is None:
                return

    await fake_server(loop)
    assert await _converse(hass) == GARBLED.spoken
    assert rounds <= 6


async def test_a_conversation_id_too_long_is_hashed_not_cut() -> None:
    long_a, long_b = "a" * 200 + "1", "a" * 200 + "2"
    assert conversation_key("01JAB") == "01JAB"
    assert conversation_key(long_a) != conversation_key(long_b)
    assert len(conversation_key(long_a)) <= agent.MAX_ID
    # Without a user, nobody can name another user's key as their conversation id.
    alices = conversation_key("kitchen", "alice")
    assert conversation_key(alices) != alices


async def test_a_conversation_id_another_user_picks_is_not_the_first_ones(
    hass: HomeAssistant,
    agent_entry: MockConfigEntry,
    fake_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same chosen id from two users (HA's session gone between) is two memories in the app."""
    asked: list[str | None] = []

    async def done(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, agent.DONE, {"text": "Noted."})

    async def spy(link: Any, agent_id: str, user_input: Any, chat_log: Any) -> None:
        asked.append(ask_of(user_input, chat_log).conversation_id)
        await answer(link, agent_id, user_input, chat_log)

    await fake_server(done)
    monkeypatch.setattr(alicia_conversation, "answer", spy)
    for user in ("alice", "mallory"):
        if DATA_CHAT_SESSION in hass.data:  # HA restarted: its sessions are gone
            hass.data[DATA_CHAT_SESSION].clear()
        await conversation.async_converse(
            hass, "My PIN is 1234.", "kitchen", Context(user_id=user),
            language="en", agent_id="conversation.alicia",
        )  # fmt: skip
    assert len(asked) == 2
    assert asked[0] != asked[1]
    assert conversation_key("kitchen", "alice") == asked[0]


class _LongTool(llm.Tool):
    """A tool whose name the app refuses (a script with a long id)."""

    name = "script__" + "x" * 80
    description = "Runs a script"
    parameters = vol.Schema({})

    async def async_call(
        self,
        hass: HomeAssistant,
        tool_input: llm.ToolInput,
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """Never called."""
        return {}


def test_a_tool_the_app_would_refuse_is_left_out() -> None:
    assert tool_spec(_LongTool(), None) is None


async def test_a_frame_cut_short_is_a_server_gone(
    hass: HomeAssistant, fake_server: Any
) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'{"type": "alicia-agent-delta", "data_length": 10}\n{"te')
        await writer.drain()

    await fake_server(cut)
    with pytest.raises(AgentUnavailable) as raised:
        await turn_events(hass)
    assert raised.value.code == NO_SERVER.code


async def test_a_turn_that_outlasts_its_bound_is_too_slow(
    hass: HomeAssistant,
    agent_entry: MockConfigEntry,
    fake_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(alicia_conversation, "TURN_SECONDS", 0.3)

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, agent.DELTA, {"text": "Well "})
        await asyncio.sleep(0.6)

    await fake_server(slow)
    assert await _converse(hass) == TOO_SLOW.spoken


async def test_an_event_against_the_contract_is_garbled_not_a_traceback(
    hass: HomeAssistant,
    agent_entry: MockConfigEntry,
    fake_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def wrong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, agent.DELTA, {"text": 5})

    await fake_server(wrong)
    assert await _converse(hass) == GARBLED.spoken
    assert "Traceback" not in caplog.text


async def test_a_passing_failure_leaves_the_repair_the_user_must_act_on(
    hass: HomeAssistant, agent_entry: MockConfigEntry, fake_server: Any
) -> None:
    codes = iter(["no_api_key", "timeout"])

    async def fail(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _write(writer, agent.FAILED, {"code": next(codes), "spoken": "No."})

    await fake_server(fail)
    issues = ir.async_get(hass)
    await _converse(hass)
    assert issues.async_get_issue(DOMAIN, "agent_no_api_key") is not None
    await _converse(hass)  # a timeout: the key is still missing
    assert issues.async_get_issue(DOMAIN, "agent_no_api_key") is not None
