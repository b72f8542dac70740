"""A mapping the user saved for Home Assistant's port: its relayed clients are not taken for Home Assistant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from wyoming.event import async_write_event
from wyoming.info import Describe

from alicia_bus import agent_proof
from tests.addon.fake_supervisor import FakeSupervisor, serve_fake
from tests.addon.test_supervisor import addon, options_file, wait_for_log
from tests.conftest import free_port
from tests.wyoming.client import next_event
from tests.wyoming.test_public_port import proof
from tests.wyoming.test_public_port_strangers import counted
from wyoming_services import addon as addon_module
from wyoming_services.addon import SupervisorError, check_home_assistant_port
from wyoming_services.authority import UriPort
from wyoming_services.connections import Connections
from wyoming_services.settings import Settings

pytestmark = pytest.mark.slow

PUBLISHED = "is published on your network as host port 10300"
UNKNOWN = "Cannot tell whether port"
NOT_YET = "The Supervisor has not said yet whether port"
TRUSTED_NOW = "is not published on your network: Home Assistant's connections"


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, fake: FakeSupervisor, network: dict[str, int | None] | None
) -> AsyncIterator[tuple[str, Path]]:
    """The app under the fake Supervisor, serving: Home Assistant's uri, and the log.

    network: the saved mappings, "{ha}" standing for Home Assistant's port (a free one).
    """
    port = free_port()
    if network is not None:
        fake.network = {name.format(ha=port): host for name, host in network.items()}
    runner, url = await serve_fake(fake)
    log = tmp_path / "run.log"
    process = await addon("run", url, options_file(tmp_path, port), log)
    try:
        await wait_for_log(log, "Serving Wyoming on")
        yield f"tcp://127.0.0.1:{port}", log
    finally:
        if fake.info_gate is not None:
            fake.info_gate.set()  # a test that failed before letting it answer
        process.terminate()
        await process.wait()
        await runner.cleanup()


async def proof_on_home_assistants_port(
    tmp_path: Path, fake: FakeSupervisor, network: dict[str, int | None] | None
) -> tuple[dict[str, object], str]:
    """The agent proof a client on 127.0.0.1 (the hassio gateway's stand-in) gets, and the log."""
    async with serving(tmp_path, fake, network) as (uri, log):
        return await proof(uri), log.read_text()


async def test_a_client_relayed_through_a_published_home_assistant_port_gets_no_proof(
    tmp_path: Path, socket_enabled: None
) -> None:
    """The attack: 10300 published before the update stays published; Docker relays a LAN client from 172.30.32.1.

    Before, that client was Home Assistant (trusted: only the missing bridge kept the
    signature from it); now it is anyone, and the log says once what to remove.
    """
    fake = FakeSupervisor(None)
    answer, text = await proof_on_home_assistants_port(
        tmp_path, fake, {"{ha}/tcp": 10300, "10310/tcp": None}
    )
    assert answer == {"refused": agent_proof.NOT_ALLOWED}
    assert text.count(PUBLISHED) == 1, text
    line = next(line for line in text.splitlines() if PUBLISHED in line)
    assert " ERROR " in line
    assert "until you remove that mapping; publish " in line


@pytest.mark.parametrize(
    "network", [{"{ha}/tcp": None, "10310/tcp": 10310}, {"10310/tcp": None}]
)
async def test_home_assistants_port_not_published_trusts_home_assistant(
    tmp_path: Path, socket_enabled: None, network: dict[str, int | None]
) -> None:
    fake = FakeSupervisor(None)
    answer, text = await proof_on_home_assistants_port(tmp_path, fake, network)
    assert answer == {"refused": agent_proof.NO_BRIDGE}
    assert PUBLISHED not in text, text
    assert UNKNOWN not in text, text
    assert fake.infos_asked == 1


async def test_a_refused_info_call_is_one_warning_and_changes_nothing(
    tmp_path: Path, socket_enabled: None
) -> None:
    """An older Supervisor refusing /addons/self/info: served as before, said once, not asked again."""
    fake = FakeSupervisor(None, info_status=403)
    answer, text = await proof_on_home_assistants_port(tmp_path, fake, None)
    assert answer == {"refused": agent_proof.NO_BRIDGE}
    assert text.count(UNKNOWN) == 1, text
    assert "(HTTP 403)" in text
    assert fake.infos_asked == 1


async def test_a_client_relayed_before_the_supervisor_answers_is_never_trusted(
    tmp_path: Path, socket_enabled: None
) -> None:
    """The attack: 10300 published, the Supervisor slow at boot; a relayed client in the window kept HA's trust."""
    fake = FakeSupervisor(None, info_gate=asyncio.Event())
    published = {"{ha}/tcp": 10300, "10310/tcp": None}
    async with serving(tmp_path, fake, published) as (uri, log):
        assert await proof(uri) == {"refused": agent_proof.NOT_ALLOWED}
        # Held open through the window: HA's requester (`wyoming:`), not the LAN's.
        held = await counted(uri)
        assert fake.info_gate is not None
        fake.info_gate.set()
        await wait_for_log(log, PUBLISHED)
        assert await proof(uri) == {"refused": agent_proof.NOT_ALLOWED}
        told = await next_event(held)
        assert (told.type, told.data["code"]) == ("error", "not-allowed")
        held[1].close()
        text = log.read_text()
    waiting = next(line for line in text.splitlines() if NOT_YET in line)
    assert " WARNING " in waiting
    assert "Home Assistant included" in waiting
    error = next(line for line in text.splitlines() if PUBLISHED in line)
    assert "1 open connection from such an address closed" in error


async def test_home_assistant_is_trusted_once_a_late_answer_says_not_published(
    tmp_path: Path, socket_enabled: None
) -> None:
    """HA, a stranger while the Supervisor is silent (the log says why), is trusted on its next connection after."""
    fake = FakeSupervisor(None, info_gate=asyncio.Event())
    async with serving(tmp_path, fake, {"10310/tcp": None}) as (uri, log):
        assert await proof(uri) == {"refused": agent_proof.NOT_ALLOWED}
        assert NOT_YET in log.read_text()
        assert fake.info_gate is not None
        fake.info_gate.set()
        await wait_for_log(log, TRUSTED_NOW)
        assert await proof(uri) == {"refused": agent_proof.NO_BRIDGE}
        assert PUBLISHED not in log.read_text()


async def test_strangers_relayed_to_the_public_port_close_no_home_assistant_connection_meanwhile(
    tmp_path: Path, socket_enabled: None
) -> None:
    """The attack: while the Supervisor was silent HA was `wyoming-lan:`, the requester of strangers relayed to 10310.

    Filling that requester's share (max_connections/2) on 10310 closed HA's pipeline
    connection on its own port.
    """
    fake = FakeSupervisor(None, info_gate=asyncio.Event())
    async with serving(tmp_path, fake, {"10310/tcp": 10310}) as (uri, log):
        options = json.loads((tmp_path / "options.json").read_text())
        public = f"tcp://127.0.0.1:{options['wyoming_lan_port']}"
        assert NOT_YET in log.read_text()
        home = await counted(uri)
        share = Connections(Settings().max_connections).per_address
        strangers = [await counted(public) for _ in range(share)]
        try:
            await async_write_event(Describe().event(), home[1])
            assert (await next_event(home)).type == "info"
        finally:
            for _, writer in [home, *strangers]:
                writer.close()


class SilentSupervisor:
    """A Supervisor that cannot be reached once, then says nothing is published."""

    def __init__(self) -> None:
        self.answers: list[dict[str, int | None] | None] = [None, {"10310/tcp": None}]

    async def network(self) -> dict[str, int | None]:
        if (answer := self.answers.pop(0)) is None:
            raise SupervisorError("cannot reach the Supervisor at http://supervisor")
        return answer


async def test_the_retry_warnings_say_relays_are_not_trusted_meanwhile(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(addon_module, "RETRY_FIRST", 0.0)
    port = UriPort(published=None)
    supervisor: Any = SilentSupervisor()
    with caplog.at_level(logging.WARNING, addon_module.__name__):
        await check_home_assistant_port(
            Settings(uri="tcp://0.0.0.0:10300"), supervisor, port
        )
    assert port.published is False
    (record,) = caplog.records
    assert "cannot reach the Supervisor" in record.getMessage()
    assert (
        "meanwhile no client relayed to port 10300 is trusted, Home Assistant "
        "included" in record.getMessage()
    )
