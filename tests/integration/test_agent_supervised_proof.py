"""A Supervisor-discovered Wyoming server proves it is the app once a voice server's key is known."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.event import Event, async_read_event, async_write_event

from custom_components.alicia.agent_link import NOT_PROVEN, AgentLink, AgentUnavailable
from custom_components.alicia.bus import agent, agent_proof
from custom_components.alicia.bus.signing import KeyPair

from .agent_server import ASK, INFO, VOICE_KEYS, proven_link, wyoming_server

OWN_KEY = KeyPair.from_seed(bytes(range(2, 34)))


async def add_on(hass: HomeAssistant, *, proves: bool) -> list[str]:
    """Any add-on discovered as Wyoming that answers as the app; the events it is sent."""
    heard: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (event := await async_read_event(reader)) is not None:
            heard.append(event.type)
            if event.type == "describe":
                await async_write_event(Event("info", INFO), writer)
            elif event.type == agent_proof.PROVE and proves:  # with a key of its own
                nonce = agent_proof.nonce_of(event.data or {})
                proof = agent_proof.proof(OWN_KEY, "bridge", nonce)
                await async_write_event(Event(agent_proof.PROOF, proof), writer)
            elif event.type == agent.ASK:
                await async_write_event(Event(agent.DONE, {"text": "Hi"}), writer)
        writer.close()

    await wyoming_server(hass, serve, "hassio")
    return heard


@pytest.mark.parametrize("proves", [False, True], ids=["silent", "own-key"])
async def test_an_add_on_answering_as_the_app_never_gets_the_users_words(
    hass: HomeAssistant, socket_enabled: None, proves: bool
) -> None:
    """Security on and the bridge approved: its discovery alone is no proof."""
    heard = await add_on(hass, proves=proves)
    link = proven_link(hass)
    with pytest.raises(AgentUnavailable) as raised:
        await link.open(ASK)
    assert raised.value.spoken == NOT_PROVEN.spoken
    assert agent_proof.PROVE in heard
    assert agent.ASK not in heard


async def test_one_found_before_the_bridge_was_approved_proves_after(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Taken at first setup, when no key could be checked; asked to prove once one is known."""
    heard = await add_on(hass, proves=False)
    known: dict[str, str] = {}
    link = AgentLink(hass, lambda: known)
    async with await link.open(ASK) as turn:
        assert (await turn.next()).type == agent.DONE
    assert agent_proof.PROVE not in heard
    known.update(VOICE_KEYS)
    heard.clear()
    with pytest.raises(AgentUnavailable):
        await link.open(ASK)
    assert agent_proof.PROVE in heard
    assert agent.ASK not in heard


async def test_the_app_discovered_by_the_supervisor_proves_and_is_asked(
    hass: HomeAssistant, fake_server: Callable[..., Awaitable[MockConfigEntry]]
) -> None:
    """The real app (its events, signed with the approved bridge key) among impostors."""
    impostor = await add_on(hass, proves=True)

    async def script(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await async_write_event(Event(agent.DONE, {"text": "It is noon."}), writer)

    await fake_server(script, source="hassio")
    async with await proven_link(hass).open(ASK) as turn:
        assert (await turn.next()).data["text"] == "It is noon."
    assert agent.ASK not in impostor
