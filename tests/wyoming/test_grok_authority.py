"""A request carries its requester's authority: home tools and conversations are theirs only."""

from __future__ import annotations

from tests.fake_xai import FakeXai
from wyoming_services.authority import Authority
from wyoming_services.grok import Grok
from wyoming_services.grok.prompt import NO_HOME

from .test_grok_responses import LAMP_CALL, Lamp, make

HOME = Authority("wyoming:127.0.0.1", may_act=True)
STRANGER = Authority("wyoming:192.168.1.66", may_act=False)


async def ask(
    grok: Grok, text: str, who: Authority, conversation: str | None = None
) -> str:
    deltas = grok.answer(text, None, conversation, authority=who)
    return "".join([d async for d in deltas])


async def test_only_a_requester_that_may_act_is_offered_the_home(xai: FakeXai) -> None:
    xai.configure(tool_calls=[LAMP_CALL])
    grok = make(xai)
    lamp = Lamp()
    grok.tools = lamp
    try:
        refused = await ask(grok, "Is the hall lamp on?", STRANGER)
        served = await ask(grok, "Is the hall lamp on?", HOME)
    finally:
        await grok.close()
    stranger, home, _ = [r["body"] for r in xai.responses_requests()]
    assert "tools" not in stranger
    assert NO_HOME in stranger["input"][0]["content"]
    assert refused.startswith("You asked: Is the hall lamp on?")
    assert {t["name"] for t in home["tools"]} == {"read_lamp"}
    assert NO_HOME not in home["input"][0]["content"]
    assert served.startswith("Tool said: the hall lamp is on")
    assert lamp.calls == [("read_lamp", {"room": "hall"})]  # for HA only


async def test_a_conversation_cannot_be_continued_by_another_requester(
    xai: FakeXai,
) -> None:
    grok = make(xai)
    try:
        await ask(grok, "The alarm code is 4711.", HOME, "c1")
        other = await ask(grok, "What was the code?", STRANGER, "c1")
        own = await ask(grok, "What was the code?", HOME, "c1")
    finally:
        await grok.close()
    assert other.endswith("I remember 0 earlier answers.")
    assert own.endswith("I remember 1 earlier answers.")
    _, stranger, home = xai.responses_requests()
    assert "previous_response_id" not in stranger["body"]
    assert home["body"]["previous_response_id"] == "resp_1"


async def test_strangers_one_conversation_each_leave_home_assistants(
    xai: FakeXai,
) -> None:
    """At the cap, a tie between HA's one conversation and each stranger's takes a stranger's."""
    grok = make(xai)
    grok.memory.max_conversations = 3
    try:
        await ask(grok, "What's the weather tomorrow?", HOME, "ha")
        for n in range(5):
            who = Authority(f"wyoming:192.168.1.{n}", may_act=False)
            await ask(grok, "Hi", who, f"s{n}")
        follow_up = await ask(grok, "And the day after?", HOME, "ha")
    finally:
        await grok.close()
    assert follow_up.endswith("I remember 1 earlier answers.")
