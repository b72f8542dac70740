"""A hung voice server, end to end: the app's real server stopped (SIGSTOP) is a repair within seconds, and Assist's answer a sentence at once (#32, 3)."""

from __future__ import annotations

import asyncio
from pathlib import Path
import signal
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.agent_link import (
    DESCRIBE_SECONDS,
    NO_SERVER,
    NOT_ANSWERING,
)
from custom_components.alicia.const import DOMAIN
from tests.conftest import ServerProcess, wait_until

from .conftest import RealBus

pytestmark = pytest.mark.slow

BRIDGE = "alicia-voice-hung"
ISSUE = f"voice_server_{BRIDGE}"


@pytest.fixture
def real_bus_options() -> dict[str, Any]:
    """The bridge is approved as it registers."""
    return {"approval": "auto"}


async def test_a_stopped_server_is_a_repair_and_a_resumed_one_clears_it(
    hass: HomeAssistant, real_bus: RealBus, tmp_path: Path
) -> None:
    issues = ir.async_get(hass)
    server = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(real_bus.port),
        "--bridge-id", BRIDGE, "--bridge-heartbeat-interval", "1",
        log=tmp_path / "bridge.log",
    )  # fmt: skip
    try:
        await wait_until(lambda: BRIDGE in real_bus.hub.roster.devices, 120)
        await wait_until(
            lambda: real_bus.hub.roster.devices[BRIDGE].last_seen is not None
        )
        assert issues.async_get_issue(DOMAIN, ISSUE) is None
        server.process.send_signal(signal.SIGSTOP)  # hung: nothing answers
        # 3 missed heartbeats (3 s), then the hub's next check (every 5 s).
        await wait_until(lambda: issues.async_get_issue(DOMAIN, ISSUE) is not None, 15)
        issue = issues.async_get_issue(DOMAIN, ISSUE)
        assert issue is not None
        assert issue.translation_key == "voice_server_silent"
        server.process.send_signal(signal.SIGCONT)
        await wait_until(lambda: issues.async_get_issue(DOMAIN, ISSUE) is None, 15)
    finally:
        server.process.send_signal(signal.SIGCONT)
        await hass.async_add_executor_job(server.stop)


async def said(hass: HomeAssistant, text: str) -> str:
    """What the Alicia agent answers, as a satellite's pipeline hands it the words."""
    result = await conversation.async_converse(
        hass, text, None, Context(), language="en", agent_id="conversation.alicia"
    )
    return str(result.response.speech["plain"]["speech"])


@pytest.fixture
async def conversations(hass: HomeAssistant) -> None:
    """HA's conversations before Alicia (as default_config has them): with its agent."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


async def test_assist_is_told_at_once_when_the_app_hangs_after_it_was_found(
    hass: HomeAssistant, conversations: None, real_bus: RealBus, tmp_path: Path
) -> None:
    server = ServerProcess(log=tmp_path / "server.log")  # no Grok key: it says so
    try:
        await hass.async_add_executor_job(server.wait_ready)
        host, port = server.uri.removeprefix("tcp://").rsplit(":", 1)
        MockConfigEntry(
            domain="wyoming",
            source="hassio",
            data={"host": host, "port": int(port)},
            title="Alicia",
        ).add_to_hass(hass)
        alive = await said(hass, "Hello?")
        assert alive != NO_SERVER.spoken  # found, and answering
        server.process.send_signal(signal.SIGSTOP)  # its kernel still accepts
        # Within the describe bound, not the 30 s a turn's event may take.
        async with asyncio.timeout(2 * DESCRIBE_SECONDS):
            assert await said(hass, "Hello?") == NOT_ANSWERING.spoken
        server.process.send_signal(signal.SIGCONT)
        assert await said(hass, "Hello?") == alive
    finally:
        server.process.send_signal(signal.SIGCONT)
        await hass.async_add_executor_job(server.stop)
