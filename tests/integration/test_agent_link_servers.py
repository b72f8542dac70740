"""Which Wyoming server the agent asks: the app's, found by describe, and never another."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from wyoming.event import Event, async_read_event, async_write_event

from custom_components.alicia.agent_link import (
    NO_SERVER,
    AgentUnavailable,
    Server,
    failure_of,
    server_of,
)
from custom_components.alicia.bus import agent, agent_proof
from tests.conftest import free_port

from .agent_server import ASK, hang_up, proven_link, turn_events, wyoming_server
from .helpers import BRIDGE, BRIDGE_KEY


async def test_languages_come_from_describe_and_a_gone_server_is_looked_for_again(
    hass: HomeAssistant, fake_server: Any
) -> None:
    link = proven_link(hass)
    link.server = Server("127.0.0.1", free_port(), ())  # cached, since stopped
    with pytest.raises(AgentUnavailable):
        await link.open(ASK)
    assert link.server is None

    async def answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await async_write_event(Event(agent.FAILED, {"code": "x", "spoken": 3}), writer)

    await fake_server(answer)
    found = await link.find()
    assert found is not None
    assert found.languages == ("en", "de")
    (event,) = await turn_events(hass)
    assert failure_of(event).code == "failed"  # a failed event it cannot read


async def test_entries_that_are_not_our_server_are_passed_over(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    MockConfigEntry(domain="wyoming", data={"host": "127.0.0.1"}).add_to_hass(hass)
    MockConfigEntry(
        domain="wyoming", data={"host": "127.0.0.1", "port": free_port()}
    ).add_to_hass(hass)
    assert await proven_link(hass).find() is None
    assert server_of("h", 1, {"handle": []}) is None  # a peer's server
    odd = {agent.INFO_FIELD: 1, "handle": ["x", {"models": ["y", {"languages": "en"}]}]}
    assert server_of("h", 1, odd) == Server("h", 1, ())


async def test_a_server_that_stops_listening_after_describe_is_no_server(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    async def close_at_once(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.close()

    server, _ = await wyoming_server(hass, close_at_once)
    port = server.sockets[0].getsockname()[1]
    link = proven_link(hass)
    assert await link.find() is None  # it closed before saying what it is
    link.server = Server("127.0.0.1", port, ())
    server.close()
    await server.wait_closed()
    link.find = AsyncMock(return_value=Server("127.0.0.1", port, ()))  # type: ignore[method-assign]
    with pytest.raises(AgentUnavailable) as raised:
        await link.open(ASK)
    assert raised.value.code == NO_SERVER.code
    assert link.find.await_count == 2  # looked for once more, then gave up


async def test_a_discovered_server_that_claims_to_be_the_app_is_never_asked(
    hass: HomeAssistant, fake_server: Any
) -> None:
    await fake_server(hang_up, source="zeroconf")  # a satellite HA found
    assert await proven_link(hass).find() is None


async def test_on_a_supervised_install_only_the_supervisors_discoveries_are_asked(
    hass: HomeAssistant, fake_server: Any
) -> None:
    await fake_server(hang_up, source="user")  # typed in by hand: answers as the app
    MockConfigEntry(
        domain="wyoming",
        source="hassio",
        data={"host": "127.0.0.1", "port": free_port()},
    ).add_to_hass(hass)
    assert await proven_link(hass).find() is None  # the app's own entry does not answer


async def test_the_users_words_never_go_to_a_server_that_took_the_apps_address(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    asks: list[Event] = []
    # Ours when found; then an STT server only.
    answers: list[dict[str, Any]] = [{agent.INFO_FIELD: 1}]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (event := await async_read_event(reader)) is not None:
            if event.type == agent_proof.PROVE:  # the app, while it was
                nonce = agent_proof.nonce_of(event.data or {})
                proof = agent_proof.proof(BRIDGE_KEY, BRIDGE, nonce)
                await async_write_event(Event(agent_proof.PROOF, proof), writer)
                continue
            if event.type != "describe":
                asks.append(event)
                break
            info = answers.pop(0) if answers else {"asr": []}
            await async_write_event(Event("info", info), writer)
        writer.close()

    server, _ = await wyoming_server(hass, serve)
    link = proven_link(hass)
    try:
        assert await link.find() is not None
        with pytest.raises(AgentUnavailable) as raised:
            await link.open(ASK)
    finally:
        server.close()
        await server.wait_closed()
    assert raised.value.code == NO_SERVER.code
    assert asks == []
    assert link.server is None
