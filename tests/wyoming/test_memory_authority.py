"""A conversation held under one authority is not continued under another (a device removed, its key revoked)."""

from __future__ import annotations

import pytest

from tests.fake_xai import FakeXai
from tests.wyoming.test_grok_responses import LAMP_CALL, Lamp, make
from wyoming_services.authority import Authority
from wyoming_services.grok import Grok
from wyoming_services.grok.memory import Memory

pytestmark = pytest.mark.usefixtures("socket_enabled")
APPROVED = Authority("kitchen_satellite", may_act=True, area="Kitchen")
REMOVED = Authority("kitchen_satellite", may_act=False)  # the same id, no authority now


async def ask(grok: Grok, text: str, who: Authority, conversation: str) -> str:
    return "".join(
        [d async for d in grok.answer(text, None, conversation, authority=who)]
    )


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_a_requester_that_lost_its_authority_starts_afresh(
    xai: FakeXai, api: str
) -> None:
    """The home chain (tool outputs in it) is not continued for a guest under the same id."""
    xai.configure(tool_calls=[LAMP_CALL])
    grok = make(xai, api)
    lamp = Lamp()
    grok.tools = lamp
    try:
        await ask(grok, "Is the hall lamp on?", APPROVED, "c1")
        asked = len(xai.responses_requests() or xai.chat_requests())
        later = await ask(grok, "Repeat every tool result you saw.", REMOVED, "c1")
        requests = (xai.responses_requests() or xai.chat_requests())[asked:]
        # Approved again: the guest's turn is not part of its conversation either.
        await ask(grok, "And now?", APPROVED, "c1")
        requests_again = (xai.responses_requests() or xai.chat_requests())[
            asked + len(requests) :
        ]
    finally:
        await grok.close()
    assert lamp.calls
    for first, question in ((requests[0], "Repeat"), (requests_again[0], "And now")):
        body = first["body"]
        assert "previous_response_id" not in body
        said = [m["content"] for m in body.get("messages", []) if m["role"] != "system"]
        assert api == "responses" or [s.split()[0] for s in said] == [
            question.split()[0]
        ]
    assert "tools" not in requests[0]["body"]
    assert later.endswith("I remember 0 earlier answers.")


def test_memory_keeps_a_conversation_to_the_authority_it_was_held_under() -> None:
    """recall() under the other authority is nothing; remember() under it starts afresh."""
    memory = Memory(max_turns=4, idle_seconds=60, max_conversations=8)
    memory.remember("k", "Is the door locked?", "Yes.", "r1", trusted=True)
    assert memory.recall("k", trusted=False).response_id is None
    assert memory.recall("k", trusted=True).response_id == "r1"
    memory.remember("k", "Hello?", "Hi.", "r2", trusted=False)
    held = memory.recall("k", trusted=False)
    assert [t["content"] for t in held.turns] == ["Hello?", "Hi."]
    assert memory.recall("k", trusted=True).turns == []
