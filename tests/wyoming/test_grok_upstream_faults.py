"""The Grok engine against a hostile or broken upstream: bounded in depth, size and time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
import json
import logging
import time
from typing import Any

import httpx
import pytest

from wyoming_services.authority import Authority
from wyoming_services.grok import Grok, GrokFailure
from wyoming_services.grok.memory import Memory
from wyoming_services.grok.tools import ToolCall, ToolDefinition, run_tool
from wyoming_services.grok.wire import ChatTurn, Event
from wyoming_services.settings import Settings

ASKER = Authority("kitchen_satellite", may_act=False)
BASE = "http://upstream.test/v1"
DEEP = "[" * 100_000 + "]" * 100_000

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


def make(handler: Handler, **values: object) -> Grok:
    """A Grok engine whose upstream is the handler (an OpenAI-compatible server)."""
    settings = Settings.from_mapping(
        {"grok_base_url": BASE, "grok_model": "m", "grok_retries": 0, **values}
    )
    grok = Grok(settings)
    grok._http = httpx.AsyncClient(
        base_url=BASE, transport=httpx.MockTransport(handler), timeout=5
    )
    return grok


def sse(*events: dict[str, Any] | str) -> bytes:
    """Server-sent events, one data line each."""
    return b"".join(
        f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode()
        for e in events
    )


def chunk(text: str) -> dict[str, Any]:
    """A chat.completion.chunk with a piece of text."""
    return {"choices": [{"delta": {"content": text}}]}


async def ask(grok: Grok, text: str = "Hi?", conversation: str | None = None) -> str:
    """The whole answer."""
    try:
        deltas = grok.answer(text, conversation_id=conversation, authority=ASKER)
        return "".join([delta async for delta in deltas])
    finally:
        await grok.close()


async def failure(grok: Grok, conversation: str | None = None) -> GrokFailure:
    """The answer's failure."""
    with pytest.raises(GrokFailure) as failed:
        await ask(grok, conversation=conversation)
    return failed.value


async def streamed(pieces: AsyncIterator[bytes]) -> httpx.Response:
    """A 200 streamed piece by piece."""
    return httpx.Response(200, content=pieces)


async def test_deep_model_list_is_no_list() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=f'{{"models": {DEEP}, "data": {DEEP}}}')

    grok = make(handler, grok_model="")
    try:
        assert await grok.refresh_models() == []
    finally:
        await grok.close()


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_deep_stream_event_is_garbled(api: str) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse(DEEP))

    failed = await failure(make(handler, grok_api=api))
    assert failed.spoken == "Sorry, Grok's answer came back garbled."


async def test_deep_error_body_still_says_busy() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=f'{{"error": {DEEP}}}')

    failed = await failure(make(handler))
    assert failed.code == "busy"


class _Tools:
    def __init__(self) -> None:
        self.definitions = [ToolDefinition("lights", "Lights.", {"type": "object"})]
        self.instructions = ""

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        return "done"


async def test_deep_tool_arguments_are_a_refusal() -> None:
    result = await run_tool(_Tools(), ToolCall("c1", "lights", DEEP))
    assert result.startswith("error: the arguments are not JSON")


async def test_an_endless_answer_is_cut_off_unread() -> None:
    sent = 0

    async def pieces() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(200):
            sent += 1
            yield sse(chunk("x" * 20_000))
        yield sse("[DONE]")

    async def handler(request: httpx.Request) -> httpx.Response:
        return await streamed(pieces())

    failed = await failure(make(handler, grok_max_tokens=300))
    assert failed.code == "cut_off"
    assert len(failed.partial) <= 4000
    assert sent < 10


async def test_an_endless_line_is_garbled_unread() -> None:
    sent = 0

    async def pieces() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'data: {"choices": [{"delta": {"content": "'
        for _ in range(64):
            sent += 1
            yield b"x" * (1 << 16)

    async def handler(request: httpx.Request) -> httpx.Response:
        return await streamed(pieces())

    failed = await failure(make(handler))
    assert failed.spoken == "Sorry, Grok's answer came back garbled."
    assert sent < 20


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_line_separators_inside_json_are_text(api: str) -> None:
    text = "one\u2028two\x85three\u2029four\r\n"
    events = (
        [chunk(text), "[DONE]"]
        if api == "chat_completions"
        else [
            {"type": "response.output_text.delta", "delta": text},
            {"type": "response.completed", "response": {"id": "r1"}},
        ]
    )

    async def handler(request: httpx.Request) -> httpx.Response:
        body = sse(*events).replace(b"\\u2028", "\u2028".encode())
        return httpx.Response(200, content=body.replace(b"\\u0085", "\x85".encode()))

    assert await ask(make(handler, grok_api=api)) == text


def test_memory_keeps_a_bounded_turn() -> None:
    memory = Memory(4, 60, 4)
    memory.remember("k", "q" * 1_000_000, "a" * 1_000_000)
    assert all(len(turn["content"]) <= 10_000 for turn in memory.recall("k").turns)


async def test_a_huge_error_body_is_left_unread() -> None:
    sent = 0

    async def pieces() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"error": {"message": "overloaded'
        for _ in range(64):
            sent += 1
            yield b"x" * (1 << 16)

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=pieces())

    failed = await failure(make(handler))
    assert failed.code == "busy"
    assert "overloaded" in str(failed)
    assert sent < 4


async def slow_list(request: httpx.Request) -> httpx.Response:
    """A model list that trickles a byte at a time, never ending."""

    async def pieces() -> AsyncIterator[bytes]:
        yield b'{"models": ['
        while True:
            await asyncio.sleep(0.2)
            yield b" "

    return await streamed(pieces())


async def test_a_trickling_model_list_ends_in_time() -> None:
    grok = make(slow_list, grok_model="", grok_timeout=0.5)
    started = time.monotonic()
    try:
        assert await grok.refresh_models() == []
    finally:
        await grok.close()
    assert time.monotonic() - started < 2


async def test_a_question_waits_for_the_model_list_within_its_time() -> None:
    started = time.monotonic()
    failed = await failure(make(slow_list, grok_model="", grok_timeout=0.5))
    assert failed.code == "timeout"
    assert time.monotonic() - started < 2


async def test_a_huge_model_list_is_kept_and_logged_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    models = [{"id": f"chat-model-{n}"} for n in range(5000)]

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"models": models})

    grok = make(handler, grok_model="gone")
    try:
        with caplog.at_level(logging.DEBUG):
            listed = await grok.refresh_models()
        failed = await failure(grok)
    finally:
        await grok.close()
    assert 0 < len(listed) <= 500
    assert caplog.records
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)
    assert len(str(failed)) < 1000


async def chat_events(*events: dict[str, Any] | str) -> list[Event]:
    """What a ChatTurn reads of these events."""

    async def lines() -> AsyncIterator[str]:
        for line in sse(*events).decode().split("\n"):
            yield line

    turn = ChatTurn("m", 300, "system", "question", [])
    return [event async for event in turn.events(lines())]


def tool_piece(index: int, arguments: str) -> dict[str, Any]:
    """A chunk with a piece of a tool call."""
    piece = {"index": index, "function": {"name": "lights", "arguments": arguments}}
    return {"choices": [{"delta": {"tool_calls": [piece]}}]}


async def test_tool_calls_past_a_round_are_ignored() -> None:
    events = await chat_events(*[tool_piece(n, "{}") for n in range(5000)], "[DONE]")
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert len(calls) == 8  # a round's calls


async def test_endless_tool_arguments_are_garbled() -> None:
    with pytest.raises(GrokFailure) as failed:
        await chat_events(*[tool_piece(0, "x" * 1000) for _ in range(500)], "[DONE]")
    assert failed.value.spoken == "Sorry, Grok's answer came back garbled."


@pytest.mark.parametrize("said", ["", " \n "])
async def test_an_empty_answer_is_a_failure(said: str) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse(chunk(said), "[DONE]"))

    grok = make(handler)
    with pytest.raises(GrokFailure) as failed:
        await ask(grok, conversation="c1")
    assert failed.value.spoken == "Sorry, Grok gave no answer."
    assert grok.counters.failures == 1


async def test_a_retry_after_past_the_time_left_fails_at_once() -> None:
    asked = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal asked
        asked += 1
        return httpx.Response(429, headers={"Retry-After": "30"}, json={})

    started = time.monotonic()
    failed = await failure(make(handler, grok_retries=2, grok_timeout=2))
    assert failed.code == "busy"
    assert asked == 1
    assert time.monotonic() - started < 1
