"""Grok as a Wyoming handle program: our client, and Home Assistant's conversation agent."""

from __future__ import annotations

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.asr import Transcript
from wyoming.client import AsyncClient

from tests.conftest import TEST_KEY, ServerProcess
from tests.fake_xai import FakeXai

from .client import describe, host_port, read_until

pytestmark = pytest.mark.slow


async def handle(
    uri: str, text: str, conversation_id: str, stream: bool = False
) -> list[str]:
    async with AsyncClient.from_uri(uri) as client:
        event = Transcript(
            text=text, context={"conversation_id": conversation_id}
        ).event()
        if stream:
            event.data["stream"] = True
        await client.write_event(event)
        events = await read_until(client, "handled", "not-handled")
        return [f"{e.type}:{(e.data or {}).get('text', '')}" for e in events]


async def test_describe_offers_the_handle_program(grok_server: ServerProcess) -> None:
    info = await describe(grok_server.uri)
    assert [h.name for h in info.handle] == ["Alicia (Grok)"]
    assert info.handle[0].installed
    assert info.handle[0].models[0].name == "grok-test-fast"  # from GET /models
    assert info.handle[0].models[0].languages == ["en"]
    assert info.handle[0].supports_handled_streaming


async def test_streamed_answer_and_failure(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    events = await handle(grok_server.uri, "Is it raining?", "s1", stream=True)
    assert events[0] == "handled-start:"
    chunks = [
        e.removeprefix("handled-chunk:")
        for e in events
        if e.startswith("handled-chunk:")
    ]
    assert len(chunks) > 3
    assert events[-2:] == ["handled-stop:", "handled:" + "".join(chunks)]
    assert "".join(chunks) == "You asked: Is it raining? I remember 0 earlier answers."

    plain = await handle(grok_server.uri, "Is it raining?", "s2")
    assert plain == ["handled:You asked: Is it raining? I remember 0 earlier answers."]

    xai.configure(fail_with=[401])
    refused = await handle(grok_server.uri, "Hello?", "s3")
    assert refused == [
        "not-handled:Grok refused the API key. Please check the key in the Alicia app."
    ]
    assert TEST_KEY not in grok_server.log.read_text()

    xai.configure(token_delay=0.05, cut_after_tokens=4)
    cut = await handle(grok_server.uri, "Tell me everything.", "s4")
    assert cut == ["handled:You asked: Tell me ..."]  # what came is said, marked as cut

    xai.configure()
    assert (await handle(grok_server.uri, "Still there?", "s5"))[0].startswith(
        "handled:You asked"
    )


async def test_home_assistant_conversation_agent_with_memory(
    hass: HomeAssistant, socket_enabled: None, grok_server: ServerProcess, xai: FakeXai
) -> None:
    host, port = host_port(grok_server.uri)
    assert await async_setup_component(hass, "homeassistant", {})
    entry = MockConfigEntry(domain="wyoming", data={"host": host, "port": port})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    agents = [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "conversation"
    ]
    assert len(agents) == 1
    state = hass.states.get(agents[0].entity_id)
    assert state is not None
    assert state.attributes["friendly_name"].endswith("Alicia (Grok)")

    result = await conversation.async_converse(
        hass,
        "Is the garage door open?",
        None,
        Context(),
        language="en",
        agent_id=agents[0].entity_id,
    )
    speech = result.response.speech["plain"]["speech"]
    assert speech == "You asked: Is the garage door open? I remember 0 earlier answers."

    follow_up = await conversation.async_converse(
        hass,
        "And the front door?",
        result.conversation_id,
        Context(),
        language="en",
        agent_id=agents[0].entity_id,
    )
    assert follow_up.response.speech["plain"]["speech"].endswith(
        "I remember 1 earlier answers."
    )
    sent = xai.chat_requests()[-1]["body"]["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == [
        "Is the garage door open?",
        "And the front door?",
    ]

    xai.configure(fail_with=[500, 500, 500])
    failed = await conversation.async_converse(
        hass, "Hello?", None, Context(), language="en", agent_id=agents[0].entity_id
    )
    assert failed.response.error_code is not None
    assert "busy right now" in failed.response.speech["plain"]["speech"]

    assert await hass.config_entries.async_unload(entry.entry_id)
