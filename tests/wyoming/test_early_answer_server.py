"""A whole question streamed live: Grok is asked in the quiet after it, and HA's ask takes that answer."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from wyoming.client import AsyncClient
from wyoming.event import Event

from alicia_bus import agent
from tests.conftest import ServerProcess, wait_until
from tests.fake_xai import FakeXai, reply_for

from .client import alicia_stats, read_until
from .live import RATE, clip, stream_live

pytestmark = pytest.mark.slow
PROMPT = "You are a voice assistant for Home Assistant."
QUESTION = "What is the capital of France?"


async def ha_asks(uri: str, text: str, conversation: str) -> list[Event]:
    """HA's agent turn on its own connection, as its Alicia agent opens it."""
    async with AsyncClient.from_uri(uri) as client:
        ask = agent.Ask(text, "en", conversation, PROMPT, ())
        await client.write_event(Event(agent.ASK, ask.data()))
        return await read_until(client, agent.DONE, agent.FAILED)


def asked(xai: FakeXai, text: str) -> list[float]:
    """When the model was asked `text`."""
    return [
        float(r["time"])
        for r in xai.chat_requests()
        if r["body"]["messages"][-1]["content"] == text
    ]


async def test_a_whole_question_is_answered_from_the_quiet_after_it(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    await ha_asks(grok_server.uri, "Hello there.", "earlier")  # HA's prompt, known
    xai.configure(first_token_delay=0.3)
    question = await clip(grok_server.uri, "piper", QUESTION)
    lead, tail = np.zeros(RATE // 2, "<i2"), np.zeros(12 * RATE, "<i2")
    transcript, _ = await stream_live(
        grok_server.uri, np.concatenate((lead, question, tail)).tobytes()
    )
    text = str(transcript.data["text"])
    assert text.rstrip().endswith("?"), text
    assert alicia_stats(transcript)["early_answer"] is True
    # Asked before HA asks: the server says it started the answer before the
    # transcript left (early_answer), and the model was asked once, by it. When, in
    # wall time, is not judged here: the quiet is the audio's, and a loaded client
    # sends it in bursts (bench/run_agent_pipeline measures it in real time).
    await wait_until(lambda: bool(asked(xai, text.strip())), 5)
    events = await ha_asks(grok_server.uri, text, "capital")
    assert events[-1].type == agent.DONE
    assert events[-1].data["text"] == reply_for(text.strip(), 0)
    assert len(asked(xai, text.strip())) == 1  # HA's ask took the answer under way


async def test_a_speaker_who_goes_on_gets_the_answer_to_all_they_said(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    await ha_asks(grok_server.uri, "Hello there.", "earlier")
    xai.configure(token_delay=0.05)
    first = await clip(grok_server.uri, "piper", "Is it going to rain?")
    rest = await clip(grok_server.uri, "piper", "In Paris this weekend?")
    quiet, tail = np.zeros(RATE // 2, "<i2"), np.zeros(12 * RATE, "<i2")
    transcript, _ = await stream_live(
        grok_server.uri, np.concatenate((quiet, first, quiet, rest, tail)).tobytes()
    )
    text = str(transcript.data["text"]).strip()
    assert "weekend" in text.casefold(), text
    events = await ha_asks(grok_server.uri, text, "went-on")
    # The answer is to everything said, whatever was asked early about its first half.
    assert events[-1].data["text"] == reply_for(text, 0)
    assert len(asked(xai, text)) == 1


async def test_words_that_are_no_question_stay_here_until_asked(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    await ha_asks(grok_server.uri, "Hello there.", "earlier")
    xai.configure()
    said = await clip(grok_server.uri, "piper", "Tell me a story about a dragon.")
    quiet, tail = np.zeros(RATE // 2, "<i2"), np.zeros(12 * RATE, "<i2")
    transcript, _ = await stream_live(
        grok_server.uri, np.concatenate((quiet, said, tail)).tobytes()
    )
    assert alicia_stats(transcript)["early_answer"] is False
    await asyncio.sleep(1.0)  # an early request would have reached the fake by now
    assert xai.chat_requests() == []
