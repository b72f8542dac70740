"""The handle program's memory is not shared between HA's users through a conversation id they chose."""

from __future__ import annotations

from typing import Any

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util.ulid import ulid_now
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.asr import Transcript
from wyoming.client import AsyncClient

from tests.conftest import ServerProcess
from tests.fake_xai import FakeXai

from .client import host_port, read_until

SECRET = "My bank PIN is 4711, remind me later."


async def handled(uri: str, text: str, context: dict[str, Any]) -> str:
    """The handle program's answer to text asked with context."""
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Transcript(text=text, context=context).event())
        (*_, last) = await read_until(client, "handled", "not-handled")
        return str((last.data or {}).get("text", ""))


def test_only_an_id_home_assistant_made_is_continued() -> None:
    """A ULID is continued, per satellite or device; a chosen id is asked afresh."""
    from wyoming_services.handle_turn import remembered_as

    made = ulid_now()
    assert remembered_as({"conversation_id": made}) is not None
    assert remembered_as({"conversation_id": "kitchen"}) is None
    assert remembered_as({"conversation_id": made.lower()}) is None
    assert remembered_as({"conversation_id": 7}) is None
    assert remembered_as({}) is None
    kitchen = remembered_as({"conversation_id": made, "satellite_id": "a"})
    assert kitchen != remembered_as({"conversation_id": made, "satellite_id": "b"})
    assert kitchen != remembered_as({"conversation_id": made, "device_id": "a"})


@pytest.mark.slow
@pytest.mark.usefixtures("socket_enabled")
async def test_a_chosen_id_is_asked_afresh_over_wyoming(
    grok_server: ServerProcess,
) -> None:
    """The same chosen id twice: nothing remembered; HA's id on another satellite: neither."""
    await handled(grok_server.uri, SECRET, {"conversation_id": "kitchen"})
    again = await handled(grok_server.uri, "What?", {"conversation_id": "kitchen"})
    assert again.endswith("I remember 0 earlier answers.")
    made = {"conversation_id": ulid_now(), "satellite_id": "assist_satellite.kitchen"}
    await handled(grok_server.uri, SECRET, made)
    followed = await handled(grok_server.uri, "What?", made)
    assert followed.endswith("I remember 1 earlier answers.")
    elsewhere = made | {"satellite_id": "assist_satellite.hall"}
    other = await handled(grok_server.uri, "What?", elsewhere)
    assert other.endswith("I remember 0 earlier answers.")


@pytest.mark.slow
async def test_another_user_with_the_same_chosen_id_hears_nothing_of_the_first(
    hass: HomeAssistant, socket_enabled: None, grok_server: ServerProcess, xai: FakeXai
) -> None:
    """HA's session for "kitchen" ended, the add-on's memory not: user B gets none of A's turns."""
    host, port = host_port(grok_server.uri)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    entry = MockConfigEntry(domain="wyoming", data={"host": host, "port": port})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    (agent,) = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "conversation"
    ]
    await conversation.async_converse(
        hass, SECRET, "kitchen", Context(user_id="user-a"), language="en",
        agent_id=agent,
    )  # fmt: skip
    hass.data[chat_session.DATA_CHAT_SESSION].clear()  # HA restarted, or cleaned up
    xai.configure()
    result = await conversation.async_converse(
        hass, "What did I tell you?", "kitchen", Context(user_id="user-b"),
        language="en", agent_id=agent,
    )  # fmt: skip
    speech = result.response.speech["plain"]["speech"]
    assert speech.endswith("I remember 0 earlier answers.")
    (asked,) = xai.chat_requests()
    sent = [m.get("content") or "" for m in asked["body"]["messages"]]
    assert not any(SECRET in text for text in sent)
