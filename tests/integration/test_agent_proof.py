"""A Wyoming server typed in by hand gets the agent's turns only if it holds the approved voice server's key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.event import Event, async_read_event, async_write_event

from custom_components.alicia.agent_link import NOT_PROVEN, AgentUnavailable
from custom_components.alicia.bus import agent, agent_proof
from custom_components.alicia.bus.signing import KeyPair
from tests.conftest import free_port

from .agent_server import ASK, INFO, proven_link, wyoming_server
from .helpers import BRIDGE, BRIDGE_KEY, approve_from_discovery, register_bridge

type Prover = Callable[[str], dict[str, Any]]
SATELLITE_INFO = {"satellite": {"name": "Bedroom"}, **INFO}


def signed_by(key: KeyPair, source: str = BRIDGE) -> Prover:
    """Proofs of each nonce, signed with key."""
    return lambda nonce: agent_proof.proof(key, source, nonce)


async def rogue(hass: HomeAssistant, prove: Prover | None) -> list[Event]:
    """A satellite typed in by hand that answers as the app; what reaches it after describe."""
    heard: list[Event] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (event := await async_read_event(reader)) is not None:
            if event.type == "describe":
                await async_write_event(Event("info", SATELLITE_INFO), writer)
            elif event.type == agent_proof.PROVE:
                if prove is not None:  # else silent: HA gives up waiting
                    nonce = str((event.data or {}).get("nonce"))
                    proof = Event(agent_proof.PROOF, prove(nonce))
                    await async_write_event(proof, writer)
            else:
                heard.append(event)
                await async_write_event(Event(agent.CALLS, {"calls": [
                    {"call_id": "c1", "name": "HassTurnOff",
                     "arguments": '{"name": "Front door"}'}]}), writer)  # fmt: skip
        writer.close()

    await wyoming_server(hass, serve, "user")
    return heard


@pytest.mark.parametrize(
    "prove",
    [
        None,  # says nothing to the challenge
        signed_by(KeyPair.from_seed(bytes(range(2, 34)))),  # a key of its own
        signed_by(BRIDGE_KEY, "kitchen_satellite"),  # another device's id
        lambda nonce: agent_proof.proof(BRIDGE_KEY, BRIDGE, "0" * 32),  # an old proof
        lambda nonce: {"source": BRIDGE, "nonce": nonce},  # unsigned
    ],
    ids=["silent", "own-key", "other-id", "replayed", "unsigned"],
)
async def test_a_satellite_typed_in_as_the_app_never_gets_the_users_words(
    hass: HomeAssistant, socket_enabled: None, prove: Prover | None
) -> None:
    """It answers describe as the app but cannot sign HA's nonce with the voice server's key."""
    heard = await rogue(hass, prove)
    link = proven_link(hass)
    assert await link.find() is None
    with pytest.raises(AgentUnavailable) as raised:
        await link.open(ASK)
    assert raised.value.spoken == NOT_PROVEN.spoken
    assert heard == []


async def test_the_app_down_does_not_hand_its_turns_to_a_satellite(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """The app's own entry first but restarting: the satellite after it is not taken for it."""
    MockConfigEntry(
        domain="wyoming", data={"host": "127.0.0.1", "port": free_port()}
    ).add_to_hass(hass)
    heard = await rogue(hass, None)
    link = proven_link(hass)
    assert await link.find() is None
    assert link.server is None
    assert heard == []


async def test_the_app_typed_in_by_hand_proves_itself_and_is_asked(
    hass: HomeAssistant, fake_server: Callable[..., Awaitable[MockConfigEntry]]
) -> None:
    """The real app (here: its events, signed with the approved bridge key) is found and asked."""
    asked: list[Event] = []

    async def script(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await async_write_event(Event(agent.DONE, {}), writer)

    await fake_server(script, source="user")
    link = proven_link(hass)
    server = await link.find()
    assert server is not None
    assert server.typed_in
    async with await link.open(ASK) as turn:
        asked.append(await turn.next())
    assert [e.type for e in asked] == [agent.DONE]


async def _converse(hass: HomeAssistant) -> str:
    result = await conversation.async_converse(
        hass, "What time is it?", None, Context(), language="en",
        agent_id="conversation.alicia",
    )  # fmt: skip
    return str(result.response.speech["plain"]["speech"])


async def test_the_agent_asks_only_the_server_holding_the_approved_key(
    hass: HomeAssistant,
    agent_entry: MockConfigEntry,
    fake_server: Callable[..., Awaitable[MockConfigEntry]],
) -> None:
    """Through HA's conversation: unproven before the bridge is approved, answered after."""

    async def script(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await async_write_event(Event(agent.DELTA, {"text": "It is noon."}), writer)
        await async_write_event(Event(agent.DONE, {"text": "It is noon."}), writer)

    await fake_server(script, source="user")
    assert await _converse(hass) == NOT_PROVEN.spoken
    await register_bridge(hass)  # the voice server, approved with its key
    await approve_from_discovery(hass, BRIDGE)
    assert await _converse(hass) == "It is noon."


async def test_with_security_off_nothing_is_asked_to_prove(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """The user turned verification off: a server typed in is taken at its word, as devices are."""
    heard = await rogue(hass, None)
    link = proven_link(hass)
    link.keys = lambda: None
    assert await link.find() is not None
    async with await link.open(ASK) as turn:
        await turn.next()
    assert [e.type for e in heard] == [agent.ASK]


async def test_a_server_found_with_security_off_proves_once_it_is_on(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Whether to prove is the mode at each turn, not at the look that found the server."""
    heard = await rogue(hass, None)
    keys: dict[str, str] | None = None
    link = proven_link(hass)
    link.keys = lambda: keys
    assert await link.find() is not None  # found while the user had security off
    keys = {BRIDGE: BRIDGE_KEY.public_key}  # then turned it on
    with pytest.raises(AgentUnavailable):
        await link.open(ASK)
    assert heard == []


@pytest.mark.parametrize(
    ("refused", "code", "words"),
    [
        (agent_proof.NOT_ALLOWED, "not_allowed", "trusted clients"),
        (agent_proof.NO_BRIDGE, "no_server", "MQTT broker"),
    ],
)
async def test_the_app_saying_why_it_cannot_prove_is_told_as_such(
    hass: HomeAssistant, socket_enabled: None, refused: str, code: str, words: str
) -> None:
    """An app that does not trust HA's address, or runs without its bridge: the fix, not "approve"."""
    await rogue(hass, lambda nonce: {"refused": refused})
    with pytest.raises(AgentUnavailable) as raised:
        await proven_link(hass).open(ASK)
    assert raised.value.code == code
    assert words in raised.value.spoken
