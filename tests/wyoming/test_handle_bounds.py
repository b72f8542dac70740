"""The handle program's questions are bounded: in length, and in the memory a requester takes."""

from __future__ import annotations

import pytest
from wyoming.asr import Transcript
from wyoming.client import AsyncClient

from alicia_bus.agent import MAX_TEXT
from tests.conftest import ServerProcess
from tests.fake_xai import FakeXai
from wyoming_services.grok.memory import Memory, conversation_key

from .client import read_until

HOME = "wyoming:127.0.0.1"


@pytest.mark.slow
async def test_a_question_over_max_text_is_refused_before_grok(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    """A 1 MB question is a bad-event naming the field; nothing goes to xAI."""
    async with AsyncClient.from_uri(grok_server.uri) as client:
        await client.write_event(Transcript(text="x" * (MAX_TEXT + 1)).event())
        events = await read_until(client, "handled", "not-handled")
    error = (events[-1].data or {}) if events else {}
    assert error.get("code") == "bad-event"
    assert f"transcript: text must be text of at most {MAX_TEXT}" in error["text"]
    assert xai.requests() == []


def test_a_strangers_conversations_never_push_home_assistants_out() -> None:
    """At the cap, the requester holding the most gives up its oldest conversation."""
    memory = Memory(max_turns=2, idle_seconds=300, max_conversations=4)
    memory.remember(conversation_key(HOME, "kitchen"), "Lights?", "On.")
    for n in range(50):
        key = conversation_key("wyoming:192.168.1.66", f"flood{n}")
        memory.remember(key, "x" * MAX_TEXT, "Sure.")
    assert memory.recall(conversation_key(HOME, "kitchen")).turns[0]["content"] == (
        "Lights?"
    )
    assert len(memory) == 4


def test_many_strangers_one_conversation_each_never_push_home_assistants_out() -> None:
    """One conversation from each of many addresses ties with HA's one: a stranger's goes.

    The rule "the asker holding the most gives up its oldest" alone took, at the tie,
    the oldest overall, which was HA's (attack_wy2 poc_evict_memory.py).
    """
    memory = Memory(max_turns=2, idle_seconds=300, max_conversations=4)
    memory.remember(conversation_key(HOME, "kitchen"), "Lights?", "On.", trusted=True)
    for n in range(50):
        key = conversation_key(f"wyoming:192.168.1.{n}", "only")
        memory.remember(key, "Hi", "Hello.")
    assert memory.recall(conversation_key(HOME, "kitchen")).turns[0]["content"] == (
        "Lights?"
    )
    # The untrusted ones left are the newest three.
    kept = [
        n
        for n in range(50)
        if memory.recall(conversation_key(f"wyoming:192.168.1.{n}", "only")).turns
    ]
    assert kept == [47, 48, 49]
