"""The handle program's questions are bounded: in length, and in the memory a requester takes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from wyoming.asr import Transcript
from wyoming.client import AsyncClient
from wyoming.event import Event, async_read_event, async_write_event

from alicia_bus.agent import MAX_TEXT
from tests.conftest import TEST_KEY, ServerProcess
from tests.fake_xai import FakeXai
from wyoming_services.authority import Authority
from wyoming_services.budgets import Questions, Requesters
from wyoming_services.grok.memory import Memory, conversation_key

from .client import host_port, read_until

HOME = "wyoming:127.0.0.1"
HOME_ADDRESS = "127.0.0.1"  # in the default wyoming_trusted_clients
STRANGERS = [f"127.0.0.{n}" for n in range(2, 6)]


@pytest.fixture(scope="module")
def open_server(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[ServerProcess]:
    """A server that answers strangers two questions a minute each."""
    server = ServerProcess(
        "--grok-base-url", fake_xai_server.base_url,
        "--wyoming-untrusted-questions", "2",
        log=tmp_path_factory.mktemp("open") / "server.log",
        env={"ALICIA_GROK_API_KEY": TEST_KEY},
    )  # fmt: skip
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


async def ask_from(uri: str, address: str, text: str) -> Event:
    """A question from address on a new connection; its answer (or error)."""
    reader, writer = await asyncio.open_connection(
        *host_port(uri), local_addr=(address, 0)
    )
    try:
        await async_write_event(Transcript(text=text).event(), writer)
        while (
            event := await asyncio.wait_for(async_read_event(reader), 30)
        ) is not None:
            if event.type in ("handled", "not-handled", "error"):
                return event
        raise ConnectionError("closed without an answer")
    finally:
        writer.close()


def asked(xai: FakeXai) -> int:
    """Questions that reached the API (the owner's key)."""
    return sum(
        r["path"].endswith(("/responses", "/chat/completions")) for r in xai.requests()
    )


@pytest.mark.slow
async def test_a_strangers_questions_are_refused_by_default(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    """No one but the trusted clients spends the key: refused before xAI is asked.

    Strangers on four addresses asked ~300 questions a second on the owner's key
    (attack_wy2 poc_log_grok.py); HA is answered as before.
    """
    before = grok_server.log.read_text().count("Refused a request")
    for n in range(20):
        refused = await ask_from(grok_server.uri, STRANGERS[n % 4], f"Question {n}?")
        assert refused.type == "error"
        assert (refused.data or {})["code"] == "not-allowed"
        assert "wyoming_untrusted_questions is 0" in refused.data["text"]
    assert asked(xai) == 0
    answered = await ask_from(grok_server.uri, HOME_ADDRESS, "Still there?")
    assert answered.type == "handled"
    assert grok_server.log.read_text().count("Refused a request") - before <= 1


@pytest.mark.slow
async def test_a_stranger_gets_its_allowance_however_often_it_reconnects(
    open_server: ServerProcess, xai: FakeXai
) -> None:
    """Two questions a minute, counted per address: a new connection gets no new ones."""
    answers = [
        await ask_from(open_server.uri, "127.0.0.2", f"Question {n}?") for n in range(5)
    ]
    assert [a.type for a in answers] == ["handled"] * 2 + ["error"] * 3
    refused = answers[-1].data or {}
    assert refused["code"] == "rate-limited"
    assert "at most 2 questions a minute from one untrusted client" in refused["text"]
    assert asked(xai) == 2
    # Home Assistant's are not counted.
    home = [
        await ask_from(open_server.uri, HOME_ADDRESS, f"Home {n}?") for n in range(5)
    ]
    assert [a.type for a in home] == ["handled"] * 5


@pytest.mark.slow
async def test_retries_while_the_api_fails_are_one_warning_a_minute(
    open_server: ServerProcess, xai: FakeXai
) -> None:
    """Each question's retries wrote a warning each (1,424 lines in 5 s); now one a minute."""
    xai.configure(fail_with=[503] * 100, retry_after="0")
    before = open_server.log.read_text().count("Grok answered HTTP 503; retry")
    answers = await asyncio.gather(
        *(ask_from(open_server.uri, HOME_ADDRESS, f"Home {n}?") for n in range(4))
    )
    assert {a.type for a in answers} == {"not-handled"}
    assert asked(xai) == 12  # each asked three times: it did retry
    after = open_server.log.read_text().count("Grok answered HTTP 503; retry")
    assert after - before == 1


@pytest.mark.slow
async def test_failed_answers_are_one_warning_a_minute(
    open_server: ServerProcess, xai: FakeXai
) -> None:
    """Each failed answer (a bad key, xAI down) wrote a warning; now one a minute per kind."""
    xai.configure(fail_with=[401] * 20)
    before = open_server.log.read_text().count("Grok could not answer")
    answers = await asyncio.gather(
        *(ask_from(open_server.uri, HOME_ADDRESS, f"Key {n}?") for n in range(4))
    )
    assert {a.type for a in answers} == {"not-handled"}
    after = open_server.log.read_text().count("Grok could not answer")
    assert after - before == 1


def test_all_strangers_together_have_a_budget_and_requesters_are_bounded() -> None:
    """Many addresses buy no more than four requesters' worth; the map stays bounded."""
    now = [0.0]
    questions = Questions(2, clock=lambda: now[0])
    allowed = [
        questions.refusal(Authority(f"wyoming:10.0.0.{n}", may_act=False)) is None
        for n in range(10)
    ]
    assert allowed == [True] * 8 + [False] * 2  # 4 x a burst of 2
    assert all(
        questions.refusal(Authority(HOME, may_act=True)) is None for _ in range(100)
    )
    now[0] += 60  # a minute: 8 more for all, 2 each
    assert questions.refusal(Authority("wyoming:10.0.0.1", may_act=False)) is None
    requesters: Requesters[dict[str, int]] = Requesters(dict, most=3)
    for n in range(10):
        requesters[f"wyoming:10.0.0.{n}"]["seen"] = n
    assert len(requesters) == 3


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
