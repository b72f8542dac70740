"""A mapping the user saved for Home Assistant's port: its relayed clients are not taken for Home Assistant."""

from __future__ import annotations

from pathlib import Path

import pytest

from alicia_bus import agent_proof
from tests.addon.fake_supervisor import FakeSupervisor, serve_fake
from tests.addon.test_supervisor import addon, options_file, wait_for_log
from tests.conftest import free_port
from tests.wyoming.test_public_port import proof

pytestmark = pytest.mark.slow

PUBLISHED = "is published on your network as host port 10300"
UNKNOWN = "Cannot tell whether port"


async def proof_on_home_assistants_port(
    tmp_path: Path, fake: FakeSupervisor, network: dict[str, int | None] | None
) -> tuple[dict[str, object], str]:
    """The agent proof a client on 127.0.0.1 (the hassio gateway's stand-in) gets, and the log.

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
        return await proof(f"tcp://127.0.0.1:{port}"), log.read_text()
    finally:
        process.terminate()
        await process.wait()
        await runner.cleanup()


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
