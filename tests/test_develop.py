"""The whole local stack as scripts/develop runs it: HA, broker, voice server, bridge, simulator."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import re
import signal
import socket
import sys
from typing import Any

import pytest

from tests.conftest import ROOT, free_port, wait_until

sys.path.insert(0, str(ROOT / "scripts"))
from dev_bootstrap import Bootstrap

pytestmark = pytest.mark.slow
# By id: HA's names for them depend on its release (the area may lead them).
SIMULATED = {
    "sim_living_climate",
    "sim_hall_motion",
    "sim_kitchen_light",
    "sim_kitchen_speaker",
    "sim_hall_button",
    "sim_satellite",  # the Assist satellite, approved by its key's fingerprint
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
                    ids = {i for d in devices for _, i in d["identifiers"]}
                    if ids >= SIMULATED:
                        break
                    await asyncio.sleep(0.5)
            # They were let in by id: the window that approves anyone stays shut.
            (entities,) = await ha.websocket({"type": "config/entity_registry/list"})
            assert [
                e["entity_id"] for e in entities
                if e["platform"] == "alicia" and e["entity_id"].startswith("assist_satellite.")
            ]  # fmt: skip
            # Its Trigger button makes it say its command (the clip develop made).
            assert any(
                e["platform"] == "alicia" and e["unique_id"] == "sim_satellite_trigger"
                for e in entities
            )
            permit = next(
                e["entity_id"] for e in entities
                if e["platform"] == "alicia" and e["unique_id"].endswith("_permit")
            )  # fmt: skip
            assert (await ha._json("GET", f"/api/states/{permit}"))["state"] == "off"
            # A local speaker plays announcements: it fetches the audio and shows it.
            answer = await ha._json(
                "POST", "/api/services/alicia/announce?return_response",
                {"entity_id": "media_player.development_speaker", "message": "Dinner is ready."},
            )  # fmt: skip
            assert answer["service_response"] == {
                "players": ["media_player.development_speaker"]
            }
            speaker = await ha._json(
                "GET", "/api/states/media_player.development_speaker"
            )
            assert speaker["attributes"]["bytes"] > 1000
            assert (
                await asyncio.to_thread(os.path.getsize, speaker["attributes"]["file"])
                > 1000
            )
            # The recorder and the logbook run: Alicia's approvals are there (once the
            # recorder has committed them).
            async with asyncio.timeout(60):
                while not await approvals_logged(ha):  # noqa: ASYNC110 - HA signals nothing here
                    await asyncio.sleep(1)
            # What the light said before its approval was refused; it reports again
            # within the simulator's 30 s.
            light = next(
                e["entity_id"] for e in entities
                if e["platform"] == "alicia" and e["unique_id"].startswith("sim_kitchen_light_")
                and e["entity_id"].startswith("light.")
            )  # fmt: skip
            async with asyncio.timeout(40):
                while await light_unknown(ha, light):  # noqa: ASYNC110 - HA signals nothing here
                    await asyncio.sleep(0.5)
        finally:
            await ha.close()

        logs = tmp_path / "dev" / "logs" / "latest"
        errors = [
            line
            for line in (logs / "homeassistant.log").read_text().splitlines()
            if " ERROR " in line
        ]
        assert errors == []
        assert "not be run as root" not in (logs / "mosquitto.log").read_text()

        said = await script("say", "turn on the kitchen light", env=env, limit=120)
        assert "transcript: Turn on the kitchen light." in said
        # The simulator obeyed and reported. The entity id is HA's choice (newer
        # HA puts the device's area in front: light.kitchen_kitchen_light).
        assert re.search(r"light\.\w*kitchen_light: off -> on", said), said
        # The speech was fetched and timed, not just asked for.
        assert re.search(
            r"text-to-speech \d+ ms \(\d+ bytes, [\d.]+ s of audio\)", said
        ), said
        # HA's real frontend in headless Chromium shows what a user needs (and the
        # check puts back what it changes).
        checked = await script("screenshots", "--check", env=env, limit=600)
        assert re.search(r"check: \S+/logbook shows 'Batteries replaced'", checked), (
            checked
        )
        assert re.search(r"check: \S+/config/devices/device/\S+ shows 'TH-1'", checked)
        assert "check: the options form refuses what devices may not call" in checked
        assert "check: the approval dialog says the device does not sign" in checked
        assert (
            "check: rejecting the newcomer says it is refused and forgotten" in checked
        )
        assert "check: the hub's Refused messages details show SHA256:" in checked
    finally:
        os.killpg(develop.pid, signal.SIGTERM) if develop.returncode is None else None
        await asyncio.wait_for(develop.wait(), 60)
    # Everything it started is stopped.
    for port in ports.values():
        assert not listening(port), port

    first_logs = (tmp_path / "dev" / "logs" / "latest").resolve()
    # A second start reuses the state: no onboarding, the same user, the same entries.
    await asyncio.sleep(
        1
    )  # the logs of each run go to a folder named by its start second
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
            # Each run keeps its own logs.
            assert (tmp_path / "dev" / "logs" / "latest").resolve() != first_logs
            assert (first_logs / "homeassistant.log").stat().st_size > 0
        finally:
            await ha.close()
    finally:
        os.killpg(again.pid, signal.SIGTERM) if again.returncode is None else None
        await asyncio.wait_for(again.wait(), 60)
    # The bridge's key and its pin of this HA's key are the run's, in its folder.
    assert (tmp_path / "dev" / "bridge" / "bridge.hub").exists()

    # Another folder is another home, with an HA key of its own: its bridge pins that
    # one (in that folder), so HA's signed vocabulary reaches the speech-to-text.
    # It shares only the ports with the run before (its logs are in its own folder).
    await wait_until(lambda: not any(listening(p) for p in ports.values()), 30)
    other = await start({**env, "ALICIA_DEV_DIR": str(tmp_path / "dev2")})
    try:
        await wait_ready(other)
        bridge_log = tmp_path / "dev2" / "logs" / "latest" / "wyoming.log"
        await wait_until(lambda: "STT vocabulary" in bridge_log.read_text(), 60)
        assert "Home Assistant's key changed" not in bridge_log.read_text()
        assert (tmp_path / "dev2" / "bridge" / "bridge.hub").exists()
    finally:
        os.killpg(other.pid, signal.SIGTERM) if other.returncode is None else None
        await asyncio.wait_for(other.wait(), 60)


async def script(name: str, *args: str, env: dict[str, str], limit: float) -> str:
    """Run scripts/NAME as a developer would; its output (it must succeed)."""
    process = await asyncio.create_subprocess_exec(
        "bash", str(ROOT / "scripts" / name), *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(process.communicate(), limit))[0].decode()
    assert process.returncode == 0, output
    return output


async def light_unknown(ha: Bootstrap, light: str) -> bool:
    """Whether HA has no state from the light yet."""
    state: dict[str, Any] = await ha._json("GET", f"/api/states/{light}")
    return bool(state["state"] == "unknown")


async def approvals_logged(ha: Bootstrap) -> bool:
    """Whether HA's logbook has a line for an Alicia approval."""
    entries = await ha._json("GET", "/api/logbook")
    return any(entry.get("message") == "was approved" for entry in entries)


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
