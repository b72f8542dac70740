"""The Grok engine on xAI's Responses API: streaming, stored conversations, tools, models."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import TEST_KEY
from tests.fake_xai import FakeXai
from wyoming_services.authority import Authority
from wyoming_services.grok import Grok, GrokFailure, ToolDefinition, ToolError
from wyoming_services.grok.engine import MAX_TOOL_ROUNDS
from wyoming_services.grok.memory import conversation_key
from wyoming_services.settings import Settings

# Home Assistant's Assist, which may act on the home.
HOME = Authority("wyoming:127.0.0.1", may_act=True)

LAMP_CALL = {"name": "read_lamp", "arguments": {"room": "hall"}}


class Lamp:
    """A toolbox of one lamp, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @property
    def definitions(self) -> list[ToolDefinition]:
        schema = {"type": "object", "properties": {"room": {"type": "string"}}}
        return [ToolDefinition("read_lamp", "The lamp's state in a room.", schema)]

    @property
    def instructions(self) -> str:
        return "Read lamps with read_lamp."

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        self.calls.append((name, arguments))
        if arguments.get("room") == "cellar":
            raise ToolError("the cellar has no lamp")
        return f"the {arguments.get('room')} lamp is on"


def make(xai: FakeXai, api: str = "responses", **values: object) -> Grok:
    settings = Settings.from_mapping(
        {"grok_base_url": xai.base_url, "grok_api_key": TEST_KEY, "grok_api": api,
         **values}
    )  # fmt: skip
    return Grok(settings)


async def ask(grok: Grok, text: str, conversation_id: str | None = None) -> str:
    deltas = grok.answer(text, None, conversation_id, authority=HOME)
    return "".join([d async for d in deltas])


async def test_answer_streams_over_responses(xai: FakeXai) -> None:
    grok = make(xai, grok_location_name="Maple Cottage")
    try:
        deltas = [d async for d in grok.answer("Is it cold outside?", authority=HOME)]
    finally:
        await grok.close()
    assert len(deltas) > 3
    assert (
        "".join(deltas)
        == "You asked: Is it cold outside? I remember 0 earlier answers."
    )
    (request,) = xai.responses_requests()
    body = request["body"]
    assert request["authorization"] == f"Bearer {TEST_KEY}"
    assert body["stream"] is True
    assert body["store"] is True
    assert body["max_output_tokens"] == 300
    assert "instructions" not in body  # xAI refuses it
    assert "previous_response_id" not in body
    assert "tools" not in body  # no toolbox, no tools
    system, user = body["input"]
    assert system["role"] == "system"
    assert "Maple Cottage" in system["content"]
    assert user == {"role": "user", "content": "Is it cold outside?"}


async def test_conversation_continues_from_the_stored_response(xai: FakeXai) -> None:
    grok = make(xai)
    try:
        await ask(grok, "My name is Ada.", "c1")
        second = await ask(grok, "What is my name?", "c1")
        other = await ask(grok, "Who am I?", "c2")
    finally:
        await grok.close()
    assert second.endswith("I remember 1 earlier answers.")
    assert other.endswith("I remember 0 earlier answers.")
    first, follow_up, elsewhere = xai.responses_requests()
    assert "previous_response_id" not in first["body"]
    assert "previous_response_id" not in elsewhere["body"]  # another conversation
    # Only what is new is sent; the server has the rest.
    assert follow_up["body"]["previous_response_id"] == "resp_1"
    assert follow_up["body"]["input"][-1] == {
        "role": "user",
        "content": "What is my name?",
    }
    assert len(follow_up["body"]["input"]) == 2


async def test_an_expired_stored_conversation_starts_afresh(xai: FakeXai) -> None:
    grok = make(xai)
    grok.memory.remember(
        conversation_key(HOME.who, "c1"), "Hello", "Hi there", "resp_gone",
        trusted=True,  # HOME's: held under its authority
    )  # fmt: skip
    try:
        answer = await ask(grok, "Are you there?", "c1")
    finally:
        await grok.close()
    assert answer.endswith("I remember 0 earlier answers.")
    gone, fresh = xai.responses_requests()
    assert gone["body"]["previous_response_id"] == "resp_gone"
    assert "previous_response_id" not in fresh["body"]


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_tool_calls_run_and_their_results_reach_the_answer(
    xai: FakeXai, api: str
) -> None:
    xai.configure(tool_calls=[LAMP_CALL], after_tools="Anything else?")
    grok = make(xai, api)
    lamp = Lamp()
    grok.tools = lamp
    try:
        answer = await ask(grok, "Is the hall lamp on?", "c1")
    finally:
        await grok.close()
    assert lamp.calls == [("read_lamp", {"room": "hall"})]
    assert answer == "Tool said: the hall lamp is on. Anything else?"
    assert grok.counters.tool_calls == 1
    requests = [r["body"] for r in xai.requests() if r["body"] is not None]
    assert len(requests) == 2
    if api == "responses":
        asked, answered = requests
        assert asked["tools"] == [
            {"type": "function", "name": "read_lamp",
             "description": "The lamp's state in a room.",
             "parameters": lamp.definitions[0].parameters}
        ]  # fmt: skip
        assert "Read lamps with read_lamp." in asked["input"][0]["content"]
        # The results go back against the stored response that asked for them.
        assert answered["previous_response_id"] == "resp_1"
        (output,) = answered["input"]
        assert output["type"] == "function_call_output"
        assert output["call_id"] == "call_resp_1_0"
        assert output["output"] == "the hall lamp is on"
    else:
        answered = requests[1]
        call, result = answered["messages"][-2:]
        assert call["tool_calls"][0]["function"] == {
            "name": "read_lamp", "arguments": '{"room": "hall"}'
        }  # fmt: skip
        assert result == {"role": "tool", "tool_call_id": "call_0",
                          "content": "the hall lamp is on"}  # fmt: skip


async def test_a_refused_or_broken_call_is_told_to_the_model(xai: FakeXai) -> None:
    xai.configure(
        tool_calls=[
            {"name": "read_lamp", "arguments": {"room": "cellar"}},
            {"name": "format_disk", "arguments": {}},
        ]
    )
    grok = make(xai)
    lamp = Lamp()
    grok.tools = lamp
    try:
        answer = await ask(grok, "Check the cellar.")
    finally:
        await grok.close()
    assert answer == (
        "Tool said: error: the cellar has no lamp / "
        "error: there is no tool named 'format_disk'."
    )
    assert lamp.calls == [("read_lamp", {"room": "cellar"})]


async def test_a_model_that_keeps_calling_tools_is_stopped(xai: FakeXai) -> None:
    xai.configure(tool_calls=[LAMP_CALL], always_call_tools=True)
    grok = make(xai)
    grok.tools = Lamp()
    try:
        answer = await ask(grok, "Is the hall lamp on?")
    finally:
        await grok.close()
    bodies = [r["body"] for r in xai.responses_requests()]
    assert len(bodies) == MAX_TOOL_ROUNDS + 1
    assert all("tools" in b for b in bodies[:-1])
    assert "tools" not in bodies[-1]  # the last round must answer
    assert answer.startswith("Tool said: the hall lamp is on")


async def test_home_tools_can_be_turned_off(xai: FakeXai) -> None:
    xai.configure(tool_calls=[LAMP_CALL])
    grok = make(xai, grok_home_tools=False)
    grok.tools = Lamp()
    try:
        answer = await ask(grok, "Is the hall lamp on?")
    finally:
        await grok.close()
    assert answer.startswith("You asked: Is the hall lamp on?")
    assert "tools" not in xai.responses_requests()[0]["body"]


XAI_LIKE_MODELS = [
    {"id": "grok-2-image-1212", "output_modalities": ["image"], "created": 9},
    {"id": "grok-imagine-video", "output_modalities": ["video"], "created": 9},
    {"id": "grok-2-vision-1212", "output_modalities": ["text"], "created": 8},
    {"id": "grok-4-0709", "output_modalities": ["text"], "created": 5},
    {"id": "grok-4-fast-reasoning", "output_modalities": ["text"], "created": 6},
    {"id": "grok-4-fast-non-reasoning", "output_modalities": ["text"], "created": 6,
     "aliases": ["grok-fast-latest"]},
    {"id": "grok-3-mini", "output_modalities": ["text"], "created": 3},
]  # fmt: skip


async def test_default_model_is_a_fast_chat_model(xai: FakeXai) -> None:
    xai.configure(models=XAI_LIKE_MODELS)
    grok = make(xai)
    try:
        listed = await grok.refresh_models()
    finally:
        await grok.close()
    assert grok.model == "grok-4-fast-non-reasoning"
    assert "grok-2-image-1212" not in listed
    assert "grok-imagine-video" not in listed
    assert "grok-2-vision-1212" not in listed


async def test_generic_model_list_never_picks_an_image_or_embedding_model(
    xai: FakeXai,
) -> None:
    # An OpenAI-compatible server's plain /models (no modalities): names decide.
    xai.configure(
        models=[{"id": "all-minilm-embed"}, {"id": "flux-image"}, {"id": "llama3.2"}]
    )
    grok = make(xai, "chat_completions")
    try:
        await grok.refresh_models()
        await ask(grok, "Hello")
    finally:
        await grok.close()
    assert grok.model == "llama3.2"
    assert xai.chat_requests()[0]["body"]["model"] == "llama3.2"


async def test_an_alias_is_a_valid_model(xai: FakeXai) -> None:
    xai.configure(models=XAI_LIKE_MODELS)
    grok = make(xai, grok_model="grok-fast-latest")
    try:
        await grok.refresh_models()
        answer = await ask(grok, "Hello")
    finally:
        await grok.close()
    assert answer.startswith("You asked: Hello")


async def test_a_configured_model_that_does_not_exist_is_named(
    xai: FakeXai, caplog: pytest.LogCaptureFixture
) -> None:
    xai.configure(models=XAI_LIKE_MODELS)
    grok = make(xai, grok_model="grok-99")
    try:
        with caplog.at_level(logging.ERROR):
            await grok.refresh_models()
        with pytest.raises(GrokFailure) as failure:
            await ask(grok, "Hello")
    finally:
        await grok.close()
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "grok-99 is not offered" in line
    assert "grok-4-fast-non-reasoning" in line
    assert "grok-2-image-1212" not in line
    assert "grok-99 isn't available" in failure.value.spoken
    assert xai.responses_requests() == []  # nothing sent that would fail anyway
