"""The agent events on our server: HA's prompt and tools in, deltas, relayed calls and the end out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from wyoming.client import AsyncClient
from wyoming.event import Event

from alicia_bus import agent
from tests.conftest import TEST_KEY, ServerProcess
from tests.fake_xai import FakeXai, reply_for, tool_reply
from wyoming_services.agent_turn import NOT_ALLOWED, AgentTurn, RelayedTools
from wyoming_services.authority import Authority
from wyoming_services.engines import Engines
from wyoming_services.grok import EarlyAnswers, Grok, ToolCall
from wyoming_services.grok.models import ModelInfo
from wyoming_services.settings import Settings

from .client import read_until

pytestmark = pytest.mark.slow

HA_PROMPT = "You are a voice assistant for Home Assistant. You are in area Kitchen."
TURN_OFF = agent.ToolSpec(
    "HassTurnOff",
    "Turns off a device or entity",
    {"type": "object", "properties": {"name": {"type": "string"}}},
)


def ask(text: str, tools: tuple[agent.ToolSpec, ...] = (TURN_OFF,)) -> Event:
    return Event(agent.ASK, agent.Ask(text, "en", "conv-1", HA_PROMPT, tools).data())


async def test_describe_says_it_speaks_the_agent_events(
    grok_server: ServerProcess,
) -> None:
    async with AsyncClient.from_uri(grok_server.uri) as client:
        await client.write_event(Event("describe"))
        (info,) = await read_until(client, "info")
    assert info.data[agent.INFO_FIELD] == agent.AGENT_VERSION


async def test_an_answer_streams_with_ha_prompt_and_tools(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    async with AsyncClient.from_uri(grok_server.uri) as client:
        await client.write_event(ask("Is it raining?"))
        events = await read_until(client, agent.DONE, agent.FAILED)
    deltas = [e.data["text"] for e in events if e.type == agent.DELTA]
    assert len(deltas) > 3
    assert events[-1].type == agent.DONE
    assert events[-1].data["text"] == "".join(deltas) == reply_for("Is it raining?", 0)
    (sent,) = xai.chat_requests()
    assert HA_PROMPT in sent["body"]["messages"][0]["content"]
    assert [t["function"]["name"] for t in sent["body"]["tools"]] == ["HassTurnOff"]


async def test_a_tool_call_is_relayed_to_ha_and_its_result_goes_back(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    xai.configure(
        tool_calls=[{"name": "HassTurnOff", "arguments": {"name": "kitchen light"}}],
        after_tools="Done.",
    )
    async with AsyncClient.from_uri(grok_server.uri) as client:
        await client.write_event(ask("Turn off the kitchen light"))
        *_, relayed = await read_until(client, agent.CALLS)
        (call,) = agent.Calls.parse(relayed.data).calls
        assert (call.name, call.arguments_object()) == (
            "HassTurnOff", {"name": "kitchen light"},
        )  # fmt: skip
        results = agent.Results({call.call_id: '{"success": true}'})
        await client.write_event(Event(agent.RESULTS, results.data()))
        events = await read_until(client, agent.DONE, agent.FAILED)
    assert events[-1].data["text"] == tool_reply(['{"success": true}'], "Done.")


async def test_a_tool_ha_did_not_offer_is_never_relayed(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    xai.configure(
        tool_calls=[{"name": "unlock_everything", "arguments": {}}], after_tools="No."
    )
    async with AsyncClient.from_uri(grok_server.uri) as client:
        await client.write_event(ask("Unlock the door"))
        events = await read_until(client, agent.DONE, agent.FAILED, agent.CALLS)
    assert agent.CALLS not in [e.type for e in events]
    assert "there is no tool named 'unlock_everything'" in events[-1].data["text"]


async def test_a_bad_ask_is_failed_by_name_and_the_connection_serves_on(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    async with AsyncClient.from_uri(grok_server.uri) as client:
        await client.write_event(
            Event(agent.ASK, {"text": "", "system": "", "tools": []})
        )
        (failed,) = await read_until(client, agent.FAILED)
        assert failed.data["code"] == "bad_request"
        assert "text must be text" in failed.data["spoken"]
        await client.write_event(ask("Still there?", ()))
        events = await read_until(client, agent.DONE, agent.FAILED)
    assert events[-1].type == agent.DONE
    assert xai.chat_requests()[0]["body"].get("tools") is None


def _engines(xai: FakeXai, key: str = TEST_KEY) -> Engines:
    settings = Settings(grok_base_url=xai.base_url, grok_api_key=key)
    grok = Grok(settings)
    parts = {"grok": grok, "settings": settings, "early": EarlyAnswers(grok, True)}
    return cast(Engines, type("E", (), parts))


def _recorder() -> tuple[list[Event], Callable[[Event], Awaitable[None]]]:
    sent: list[Event] = []

    async def send(event: Event) -> None:
        sent.append(event)

    return sent, send


async def _turn(turn: AgentTurn, data: dict[str, Any]) -> None:
    await turn.ask(data)
    if turn._task is not None:
        await turn._task


async def test_a_client_the_app_does_not_trust_is_refused_before_grok(
    xai: FakeXai,
) -> None:
    sent, send = _recorder()
    untrusted = Authority("wyoming:10.1.2.3", may_act=False)
    await _turn(
        AgentTurn(_engines(xai), send, untrusted, lambda: None),
        ask("Turn off all lights").data,
    )
    assert [(e.type, e.data["code"], e.data["spoken"]) for e in sent] == [
        (agent.FAILED, "not_allowed", NOT_ALLOWED)
    ]
    assert xai.requests() == []


async def test_no_api_key_fails_with_its_code(xai: FakeXai) -> None:
    sent, send = _recorder()
    engines = _engines(xai, key="")
    engines.grok.base_url = "https://api.x.ai/v1"  # xAI itself needs a key
    await _turn(
        AgentTurn(engines, send, Authority("ha", True), lambda: None), ask("Hi").data
    )
    assert [(e.type, e.data["code"]) for e in sent] == [(agent.FAILED, "no_api_key")]


async def test_a_model_the_api_does_not_offer_fails_with_its_code(xai: FakeXai) -> None:
    sent, send = _recorder()
    engines = _engines(xai)
    engines.grok.models = [ModelInfo.parse({"id": "grok-test-fast"})]
    engines.grok.model = "grok-gone"
    await _turn(
        AgentTurn(engines, send, Authority("ha", True), lambda: None), ask("Hi").data
    )
    assert [(e.type, e.data["code"]) for e in sent] == [(agent.FAILED, "model_missing")]
    assert "grok-gone" in sent[0].data["spoken"]
    assert xai.chat_requests() == []


async def test_an_untrusted_client_is_let_go_after_one_answer(xai: FakeXai) -> None:
    sent, send = _recorder()
    turn = AgentTurn(
        _engines(xai), send, Authority("wyoming:10.1.2.3", False), lambda: None
    )
    assert await turn.ask({"garbage": True}) is False  # refused before it is read
    assert [e.data["code"] for e in sent] == ["not_allowed"]


async def test_results_for_calls_never_made_do_not_answer_a_round() -> None:
    _, send = _recorder()
    tools = RelayedTools((TURN_OFF,), send)
    calls = [
        ToolCall("c1", "HassTurnOff", "{}"),
        ToolCall("c2", "HassTurnOff", "x" * 16_001),
    ]
    relayed = asyncio.create_task(tools.relay(calls))
    await asyncio.sleep(0)
    assert not tools.answered(agent.Results({"other": "ok"}))
    assert tools.answered(agent.Results({"c1": "done"}))
    assert await relayed == [
        "done",
        "error: the call is too long; ask with shorter arguments",
    ]


async def test_home_tools_off_offers_ha_none_either(xai: FakeXai) -> None:
    sent, send = _recorder()
    engines = _engines(xai)
    engines.grok.settings = Settings(
        grok_base_url=xai.base_url, grok_api_key=TEST_KEY, grok_home_tools=False
    )
    await _turn(
        AgentTurn(engines, send, Authority("ha", True), lambda: None), ask("Hi").data
    )
    assert sent[-1].type == agent.DONE
    assert "tools" not in xai.chat_requests()[0]["body"]
