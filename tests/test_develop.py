"""The whole local stack as scripts/develop runs it: HA, broker, voice server, bridge, simulator."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import re
import signal
import socket
import sys

import pytest

from tests.conftest import ROOT, free_port

sys.path.insert(0, str(ROOT / "scripts"))
from dev_bootstrap import Bootstrap

pytestmark = pytest.mark.slow
SIMULATED = {
    "Living room climate",
    "Hall motion",
    "Kitchen light",
    "Kitchen speaker",
    "Hall button",
}


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_develop_runs_everything_and_say_controls_a_device(
    tmp_path: Path, socket_enabled: None
) -> None:
    ports = {
        "ALICIA_MQTT_PORT": free_port(),
        "ALICIA_WYOMING_PORT": free_port(),
        "ALICIA_HA_PORT": free_port(),
    }
    env = {
        **os.environ,
        "ALICIA_DEV_DIR": str(tmp_path / "dev"),
        **{k: str(v) for k, v in ports.items()},
        # Piper speaks the same way every run (as in the other recognition tests).
        "ALICIA_TTS_NOISE_SCALE": "0",
        "ALICIA_TTS_NOISE_W_SCALE": "0",
    }
    develop = await start(env)
    try:
        await wait_ready(develop)
        url = f"http://127.0.0.1:{ports['ALICIA_HA_PORT']}"
        ha = Bootstrap(url, tmp_path / "dev" / "credentials.json")
        try:
            await ha.login()
            entries = await ha._json("GET", "/api/config/config_entries/entry")
            states = {e["domain"]: e["state"] for e in entries}
            assert states["alicia"] == "loaded"
            assert states["mqtt"] == "loaded"
            assert states["wyoming"] == "loaded"
            async with asyncio.timeout(30):
                while True:
                    (devices,) = await ha.websocket(
                        {"type": "config/device_registry/list"}
                    )
                    if {d["name"] for d in devices} >= SIMULATED:
                        break
                    await asyncio.sleep(0.5)
        finally:
            await ha.close()

        say = await asyncio.create_subprocess_exec(
            "bash", str(ROOT / "scripts" / "say"), "turn on the kitchen light", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        said = (await asyncio.wait_for(say.communicate(), 120))[0].decode()
        assert say.returncode == 0, said
        assert "transcript: Turn on the kitchen light." in said
        # The simulator obeyed and reported. The entity id is HA's choice (newer
        # HA puts the device's area in front: light.kitchen_kitchen_light).
        assert re.search(r"light\.\w*kitchen_light: off -> on", said), said
    finally:
        os.killpg(develop.pid, signal.SIGTERM) if develop.returncode is None else None
        await asyncio.wait_for(develop.wait(), 60)
    # Everything it started is stopped.
    for port in ports.values():
        assert not listening(port), port

    # A second start reuses the state: no onboarding, the same user, the same entries.
    again = await start(env)
    try:
        lines = await wait_ready(again)
        assert not any(
            "onboard" in line.lower() and "error" in line.lower() for line in lines
        )
        ha = Bootstrap(
            f"http://127.0.0.1:{ports['ALICIA_HA_PORT']}",
            tmp_path / "dev" / "credentials.json",
        )
        try:
            await ha.login()
            entries = await ha._json("GET", "/api/config/config_entries/entry")
            assert sorted(
                e["domain"]
                for e in entries
                if e["domain"] in {"alicia", "mqtt", "wyoming"}
            ) == ["alicia", "mqtt", "wyoming"]
        finally:
            await ha.close()
    finally:
        os.killpg(again.pid, signal.SIGTERM) if again.returncode is None else None
        await asyncio.wait_for(again.wait(), 60)


async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "bash", str(ROOT / "scripts" / "develop"), env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


async def wait_ready(develop: asyncio.subprocess.Process) -> list[str]:
    """develop's output up to its "ready" line."""
    assert develop.stdout is not None
    output: list[str] = []
    async with asyncio.timeout(300):
        while b"develop: ready" not in (line := await develop.stdout.readline()):
            assert line, "develop exited early:\n" + "".join(output)
            output.append(line.decode(errors="replace"))
    return output
