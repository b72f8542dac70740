"""The Grok engine against the fake xAI API: every success and failure path."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.conftest import TEST_KEY, free_port
from tests.fake_xai import FakeXai
from wyoming_services.authority import Authority
from wyoming_services.grok import Grok, GrokFailure
from wyoming_services.settings import Settings

ASKER = Authority("kitchen_satellite", may_act=False)


def make(xai: FakeXai, **values: object) -> Grok:
    settings = Settings.from_mapping(
        {"grok_base_url": xai.base_url, "grok_api_key": TEST_KEY, **values}
    )
    return Grok(settings)


async def ask(grok: Grok, text: str, **kwargs: object) -> str:
    deltas = grok.answer(text, authority=ASKER, **kwargs)  # type: ignore[arg-type]
    return "".join([delta async for delta in deltas])


async def test_answer_streams_with_prompt_key_and_listed_model(xai: FakeXai) -> None:
    grok = make(xai, grok_location_name="Maple Cottage", grok_personality_name="Alicia")
    try:
        deltas = [d async for d in grok.answer("Is it cold outside?", authority=ASKER)]
        assert len(deltas) > 3  # streamed word by word
        assert (
            "".join(deltas)
            == "You asked: Is it cold outside? I remember 0 earlier answers."
        )
    finally:
        await grok.close()
    # Not xAI's address: Chat Completions; the model list asked for as xAI lists it.
    paths = [r["path"] for r in xai.requests()]
    assert paths == ["/v1/language-models", "/v1/chat/completions"]
    chat = xai.chat_requests()[0]
    assert chat["authorization"] == f"Bearer {TEST_KEY}"
    body = chat["body"]
    assert body["model"] == "grok-test-fast"  # the fast one of the listed models
    assert body["stream"] is True
    system = body["messages"][0]
    assert system["role"] == "system"
    assert "You are Alicia" in system["content"]
    assert "no markdown, no lists, no emoji" in system["content"]
    assert "Maple Cottage" in system["content"]
    assert "It is now" in system["content"]
    assert system["content"].endswith("Always answer in English.")


async def test_language_and_custom_personality(xai: FakeXai) -> None:
    grok = make(
        xai,
        grok_model="grok-test-large",
        grok_personality="You are {name}, a pirate.",
        grok_personality_name="Polly",
        grok_include_datetime=False,
    )
    try:
        await ask(grok, "Wie spät ist es?", language="de-DE")
    finally:
        await grok.close()
    body = xai.chat_requests()[0]["body"]
    assert body["model"] == "grok-test-large"
    assert (
        body["messages"][0]["content"]
        == "You are Polly, a pirate.\nAlways answer in German."
    )


async def test_memory_follow_up_bounded_and_expiring(xai: FakeXai) -> None:
    grok = make(
        xai, grok_max_turns=2, grok_max_conversations=2, grok_memory_seconds=0.3
    )
    try:
        await ask(grok, "Turn on the kitchen light.", conversation_id="a")
        answer = await ask(grok, "And in the bedroom?", conversation_id="a")
        assert answer.endswith("I remember 1 earlier answers.")
        messages = xai.chat_requests()[1]["body"]["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert messages[1]["content"] == "Turn on the kitchen light."

        # At most two exchanges are kept.
        await ask(grok, "Third.", conversation_id="a")
        await ask(grok, "Fourth.", conversation_id="a")
        messages = xai.chat_requests()[-1]["body"]["messages"]
        assert [m["content"] for m in messages if m["role"] == "user"] == [
            "And in the bedroom?",
            "Third.",
            "Fourth.",
        ]

        # Other conversations do not see it; at most two conversations are kept.
        assert (await ask(grok, "Hi.", conversation_id="b")).endswith(
            "0 earlier answers."
        )
        await ask(grok, "Hi.", conversation_id="c")
        assert len(grok.memory) == 2
        # The oldest went first.
        assert (await ask(grok, "Still a?", conversation_id="a")).endswith(
            "0 earlier answers."
        )

        # Idle conversations are forgotten.
        await asyncio.sleep(0.35)
        assert (await ask(grok, "Again.", conversation_id="c")).endswith(
            "0 earlier answers."
        )
    finally:
        await grok.close()


async def test_no_key_for_xai_is_explained_without_a_request(xai: FakeXai) -> None:
    grok = Grok(Settings())
    try:
        with pytest.raises(GrokFailure) as failure:
            await ask(grok, "Hello?")
    finally:
        await grok.close()
    assert "no Grok API key is set up" in failure.value.spoken
    assert xai.requests() == []


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key(
    xai: FakeXai, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    xai.configure(fail_with=[status])
    grok = make(xai, grok_model="grok-test-fast")
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(GrokFailure) as failure:
            await ask(grok, "Hello?")
    finally:
        await grok.close()
    assert "refused the API key" in failure.value.spoken
    assert f"HTTP {status}" in str(failure.value)
    assert len(xai.chat_requests()) == 1  # not retried
    assert TEST_KEY not in str(failure.value)
    assert TEST_KEY not in caplog.text


async def test_429_retried_after_retry_after(xai: FakeXai) -> None:
    xai.configure(fail_with=[429, 503], retry_after="0.3")
    grok = make(xai, grok_model="grok-test-fast")
    try:
        answer = await ask(grok, "Hello?")
    finally:
        await grok.close()
    assert answer.startswith("You asked: Hello?")
    times = [r["time"] for r in xai.chat_requests()]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.29
    assert times[2] - times[1] >= 0.29
    assert grok.counters.retries == 2


async def test_5xx_gives_up_after_bounded_retries(xai: FakeXai) -> None:
    xai.configure(fail_with=[500, 502, 503, 504])
    grok = make(xai, grok_model="grok-test-fast", grok_retries=2)
    try:
        started = time.monotonic()
        with pytest.raises(GrokFailure) as failure:
            await ask(grok, "Hello?")
    finally:
        await grok.close()
    assert "busy right now" in failure.value.spoken
    assert len(xai.chat_requests()) == 3
    assert time.monotonic() - started < 3  # exponential backoff from 0.5 s


async def test_timeout_keeps_the_partial_answer(xai: FakeXai) -> None:
    xai.configure(token_delay=0.2)
    grok = make(xai, grok_model="grok-test-fast", grok_timeout=0.5)
    try:
        with pytest.raises(GrokFailure) as failure:
            await ask(grok, "Tell me a long story.")
    finally:
        await grok.close()
    assert "took too long" in failure.value.spoken
    assert failure.value.partial.startswith("You asked:")
    assert len(failure.value.partial) < len(
        "You asked: Tell me a long story. I remember 0 earlier answers."
    )


async def test_timeout_before_any_token(xai: FakeXai) -> None:
    xai.configure(first_token_delay=2)
    grok = make(xai, grok_model="grok-test-fast", grok_timeout=0.3)
    try:
        with pytest.raises(GrokFailure) as failure:
            await ask(grok, "Hello?")
    finally:
        await grok.close()
    assert failure.value.partial == ""
    assert "took too long" in failure.value.spoken


async def test_truncated_and_malformed_streams(xai: FakeXai) -> None:
    grok = make(xai, grok_model="grok-test-fast")
    try:
        xai.configure(cut_after_tokens=3)
        with pytest.raises(GrokFailure) as cut:
            await ask(grok, "Hello there?")
        assert "cut off" in cut.value.spoken
        assert cut.value.partial == "You asked: Hello "

        xai.configure(malformed=True)
        with pytest.raises(GrokFailure) as garbled:
            await ask(grok, "Hello there?")
        assert "garbled" in garbled.value.spoken
        assert "malformed stream event" in str(garbled.value)

        xai.configure()
        assert (await ask(grok, "Still there?")).startswith("You asked: Still there?")
    finally:
        await grok.close()


async def test_connection_refused(xai: FakeXai) -> None:
    settings = Settings.from_mapping(
        {
            "grok_base_url": f"http://127.0.0.1:{free_port()}/v1",
            "grok_model": "m",
            "grok_api_key": TEST_KEY,
        }
    )
    grok = Grok(settings)
    try:
        with pytest.raises(GrokFailure) as failure:
            await ask(grok, "Hello?")
    finally:
        await grok.close()
    assert "can't reach Grok" in failure.value.spoken
    assert "connection failed" in str(failure.value)
