"""Answers asked early: taken over only by the very ask they anticipate, from the same client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from tests.conftest import TEST_KEY
from tests.fake_xai import FakeXai, reply_for, tool_reply
from wyoming_services.authority import Authority
from wyoming_services.engines import Engines
from wyoming_services.grok import (
    EarlyAnswers,
    Grok,
    ToolCall,
    ToolDefinition,
    early as early_module,
)
from wyoming_services.settings import Settings
from wyoming_services.stt_session import SttSession
from wyoming_services.voice import EarlyQuestion, answer

HA = Authority("wyoming:127.0.0.1", may_act=True)
STRANGER = Authority("wyoming:10.0.0.9", may_act=True)
UNTRUSTED = Authority("wyoming:10.0.0.8", may_act=False)
PROMPT = "You are a voice assistant for Home Assistant."
TURN_OFF = ToolDefinition("HassTurnOff", "Turns off a device", {"type": "object"})
QUESTION = "What is the capital of France?"


class Tools:
    """HA's tools as the agent turn relays them: each round recorded, answered 'done'."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.rounds: list[list[str]] = []
        self.seconds = seconds

    @property
    def definitions(self) -> list[ToolDefinition]:
        return [TURN_OFF]

    @property
    def instructions(self) -> str:
        return ""

    async def call(self, name: str, arguments: dict[str, object]) -> str:
        raise AssertionError("relayed, never called one by one")

    async def relay(self, calls: list[ToolCall]) -> list[str]:
        self.rounds.append([c.name for c in calls])
        await asyncio.sleep(self.seconds)
        return ["done" for _ in calls]


@pytest.fixture
def grok_timeout() -> float:
    """Grok's limit on one answer (the default)."""
    return 10.0


@pytest.fixture
async def engines(xai: FakeXai, grok_timeout: float) -> AsyncIterator[Engines]:
    """Grok on the fake, with early answers on."""
    settings = Settings(
        grok_base_url=xai.base_url, grok_api_key=TEST_KEY, grok_timeout=grok_timeout
    )
    grok = Grok(settings)
    early = EarlyAnswers(grok, True)
    yield cast(
        Engines, type("E", (), {"grok": grok, "settings": settings, "early": early})
    )
    early.close()
    await asyncio.sleep(0)  # the cancelled answers end
    await grok.close()


async def ha_asks(
    engines: Engines,
    text: str = QUESTION,
    *,
    who: Authority = HA,
    prompt: str = PROMPT,
    conversation: str = "01HAC",
    tools: Tools | None = None,
) -> str:
    """HA's agent turn, as agent_turn.py makes it."""
    return await answer(
        engines, text, "en", conversation,
        authority=who, toolbox=tools or Tools(), context=prompt,
    )  # fmt: skip


async def start_turn_off(engines: Engines, xai: FakeXai) -> None:
    """HA's prompt known; an early answer whose model calls HA's turn-off tool."""
    await ha_asks(engines, "Hello there.", conversation="before")
    xai.configure(
        tool_calls=[{"name": "HassTurnOff", "arguments": {"name": "kitchen light"}}],
        after_tools="Done.",
    )
    assert engines.early.start("Turn off the kitchen light, would you?", HA)


def asked_for(xai: FakeXai) -> list[str]:
    """The questions the model was sent, in order."""
    return [r["body"]["messages"][-1]["content"] for r in xai.chat_requests()]


async def test_the_ask_takes_over_the_answer_already_under_way(
    engines: Engines, xai: FakeXai
) -> None:
    await ha_asks(engines, "Hello there.", conversation="before")  # HA's prompt, tools
    xai.configure(first_token_delay=0.3)
    early = engines.early.start(QUESTION, HA)
    assert early is not None
    await asyncio.sleep(0.1)
    assert asked_for(xai) == [QUESTION]  # asked before HA asks
    assert await ha_asks(engines) == reply_for(QUESTION, 0)
    assert asked_for(xai) == [QUESTION]  # and not again
    assert engines.early.counters.taken == 1
    # The exchange is HA's conversation's: the next turn remembers it.
    assert await ha_asks(engines, "And of Spain?") == reply_for("And of Spain?", 1)


@pytest.mark.parametrize(
    ("text", "who", "prompt"),
    [
        ("What is the capital of Spain?", HA, PROMPT),  # the speaker went on
        (QUESTION, HA, "Another satellite's prompt."),
        (QUESTION, STRANGER, PROMPT),  # another client may not take HA's answer
    ],
)
async def test_any_other_ask_is_answered_afresh(
    engines: Engines, xai: FakeXai, text: str, who: Authority, prompt: str
) -> None:
    await ha_asks(engines, "Hello there.", conversation="before")
    await ha_asks(engines, "Hello there.", who=STRANGER, conversation="other")
    xai.configure()
    assert engines.early.start(QUESTION, HA) is not None
    said = await ha_asks(engines, text, who=who, prompt=prompt, conversation="new")
    assert said == reply_for(text, 0)
    assert sorted(asked_for(xai)) == sorted([QUESTION, text])
    assert engines.early.counters.taken == 0


async def test_a_conversation_under_way_is_answered_with_what_came_before(
    engines: Engines, xai: FakeXai
) -> None:
    await ha_asks(engines, "Hello there.")
    xai.configure()
    assert engines.early.start(QUESTION, HA) is not None
    # Same words, prompt and tools, but the conversation has a turn already.
    assert await ha_asks(engines) == reply_for(QUESTION, 1)
    assert engines.early.counters.taken == 0


async def test_no_early_answer_without_trust_a_remembered_ask_or_the_setting(
    engines: Engines, xai: FakeXai
) -> None:
    assert engines.early.start(QUESTION, HA) is None  # no ask of HA's yet
    await answer(
        engines, "Hi.", "en", "c", authority=UNTRUSTED, toolbox=Tools(), context=PROMPT
    )
    assert engines.early.start(QUESTION, UNTRUSTED) is None
    off = EarlyAnswers(engines.grok, False)
    off.remember(HA, early_module.Asked("en", PROMPT, (TURN_OFF,)), "Hi.")
    assert off.start(QUESTION, HA) is None
    assert QUESTION not in asked_for(xai)


async def test_an_answer_nobody_takes_is_cancelled(
    engines: Engines, xai: FakeXai, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(early_module, "TAKE_SECONDS", 0.2)
    await ha_asks(engines, "Hello there.", conversation="before")
    xai.configure(token_delay=0.1)
    early = engines.early.start(QUESTION, HA)
    assert early is not None
    await asyncio.sleep(0.4)
    assert early.failed  # cancelled mid-answer
    assert engines.early.counters.dropped == 1
    assert await ha_asks(engines) == reply_for(QUESTION, 0)  # asked afresh
    assert asked_for(xai).count(QUESTION) == 2


async def test_at_most_two_under_way(engines: Engines, xai: FakeXai) -> None:
    await ha_asks(engines, "Hello there.", conversation="before")
    xai.configure(token_delay=0.1)
    first = engines.early.start("One?", HA)
    for text in ("Two?", "Three?"):
        assert engines.early.start(text, HA) is not None
    await asyncio.sleep(0.05)
    assert first is not None
    assert first.failed
    assert engines.early.counters.dropped == 1


async def test_its_tool_calls_wait_for_the_ask_and_go_through_its_relay(
    engines: Engines, xai: FakeXai
) -> None:
    await start_turn_off(engines, xai)
    await asyncio.sleep(0.3)  # the model called its tool meanwhile: nothing ran
    tools = Tools()
    said = await ha_asks(engines, "Turn off the kitchen light, would you?", tools=tools)
    assert tools.rounds == [["HassTurnOff"]]
    assert said == tool_reply(["done"], "Done.")
    assert engines.early.counters.taken == 1


async def test_a_failed_early_answer_is_asked_again(
    engines: Engines, xai: FakeXai
) -> None:
    await ha_asks(engines, "Hello there.", conversation="before")
    xai.configure(fail_with=[400])
    assert engines.early.start(QUESTION, HA) is not None
    await asyncio.sleep(0.2)
    assert await ha_asks(engines) == reply_for(QUESTION, 0)
    assert engines.early.counters.taken == 0


class Heard:
    """An utterance's speculative transcripts, one after another (SttSession.question)."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)

    def question(self) -> str | None:
        return self.texts.pop(0) if self.texts else None


async def test_one_utterance_asks_early_at_most_twice(
    engines: Engines, xai: FakeXai
) -> None:
    await ha_asks(engines, "Hello there.", conversation="before")
    xai.configure(token_delay=0.1)
    question = EarlyQuestion(engines, HA)
    growing = Heard("Why?", "Why is it?", "Why is it so?", "Why is it so cold?")
    for _ in range(4):  # a speaker who goes on and on, a whole question each pause
        question.heard(cast(SttSession, growing))
    assert engines.early.counters.started == 2
    assert question.said("Why is it so cold?") is False  # no answer to those words


async def test_a_client_whose_agent_takes_nothing_is_asked_for_nothing(
    engines: Engines, xai: FakeXai, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(early_module, "TAKE_SECONDS", 0.1)
    await ha_asks(engines, "Hello there.", conversation="before")
    xai.configure()
    for text in ("Is it late?", "Is it dark?"):  # heard, then another agent asked
        question = EarlyQuestion(engines, HA)
        question.heard(cast(SttSession, Heard(text)))
        assert question.said(text) is True
        await asyncio.sleep(0.2)
    assert engines.early.start("Is it cold?", HA) is None  # its words stay here
    assert "Is it cold?" not in asked_for(xai)
    # Its agent asks what it heard again: early answers help again.
    question = EarlyQuestion(engines, HA)
    question.heard(cast(SttSession, Heard("Is it warm?")))
    question.said("Is it warm?")
    await ha_asks(engines, "Is it warm?", conversation="warm")
    assert engines.early.start("Is it cold?", HA) is not None


@pytest.mark.parametrize("grok_timeout", [2.0])
async def test_a_taken_answer_has_a_whole_grok_timeout(
    engines: Engines, xai: FakeXai
) -> None:
    await start_turn_off(engines, xai)
    await asyncio.sleep(1.5)  # its tool round waits for HA's ask meanwhile
    said = await ha_asks(
        engines, "Turn off the kitchen light, would you?", tools=Tools(0.7)
    )
    assert said == tool_reply(["done"], "Done.")


async def test_a_stranger_under_home_assistants_name_adds_nothing_it_heard(
    engines: Engines, xai: FakeXai
) -> None:
    """A requester that may not act is never HA's client, even under HA's `who` (a relay's address)."""
    await ha_asks(engines, "Hello there.", conversation="before")
    engines.early.heard(Authority(HA.who, may_act=False), "Unlock the front door.")
    engines.early.heard(HA, "Is it cold?")
    assert list(engines.early._clients[HA.who].heard) == ["Is it cold?"]
