"""The add-on against a fake Supervisor (real HTTP on 127.0.0.1) and a real Mosquitto."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import os
from pathlib import Path
import socket
import sys
from typing import Any

import pytest

from tests.addon.fake_supervisor import TOKEN, FakeSupervisor, serve_fake
from tests.bus.client import bus_client
from tests.conftest import ROOT, Mosquitto, free_port, wait_until
from tests.wyoming.client import describe

pytestmark = pytest.mark.slow


async def addon(
    command: str, url: str, options: Path, log: Path
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_services.addon", command, "--options", str(options),
        cwd=ROOT, stdout=log.open("w"), stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SUPERVISOR_URL": url, "SUPERVISOR_TOKEN": TOKEN},
    )  # fmt: skip


def options_file(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "options.json"
    defaults = __import__("yaml").safe_load(
        (ROOT / "addon/alicia/config.yaml").read_text()
    )["options"]
    # The public port is the add-on's 10310 unless named: a free one, for parallel runs.
    path.write_text(
        json.dumps(
            defaults
            | {"uri": f"tcp://127.0.0.1:{port}", "wyoming_lan_port": free_port()}
        )
    )
    return path


@pytest.fixture
async def broker(tmp_path: Path, socket_enabled: None) -> AsyncIterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path / "broker", users={"addons": "from-supervisor"})
    await asyncio.get_running_loop().run_in_executor(None, mosquitto.start)
    yield mosquitto
    mosquitto.stop()


MQTT_SERVICE = {
    "host": "127.0.0.1",
    "ssl": False,
    "protocol": "3.1.1",
    "username": "addons",
    "password": "from-supervisor",
}


async def wait_for_log(log: Path, text: str, limit: float = 120) -> None:
    await wait_until(lambda: text in log.read_text(), limit)


async def registration(broker: Mosquitto) -> dict[str, Any]:
    async with bus_client(
        broker.port,
        "alicia/system/discovery/register/#",
        username="addons",
        password="from-supervisor",
    ) as client:
        return await client.wait_for(lambda m: True, limit=60)


async def test_credentials_from_supervisor_reach_mosquitto_and_discovery_is_posted(
    tmp_path: Path, broker: Mosquitto
) -> None:
    fake = FakeSupervisor(MQTT_SERVICE | {"port": broker.port})
    runner, url = await serve_fake(fake)
    port = free_port()
    log = tmp_path / "run.log"
    server = await addon("run", url, options_file(tmp_path, port), log)
    try:
        await wait_for_log(log, "Wyoming discovery sent")
        assert fake.discoveries == [
            {
                "service": "wyoming",
                "config": {"uri": f"tcp://{socket.gethostname()}:{port}"},
            }
        ]
        assert set(fake.authorizations) == {f"Bearer {TOKEN}"}
        assert (await describe(f"tcp://127.0.0.1:{port}")).asr[0].installed
        # The broker accepted the Supervisor's credentials: the bridge registered.
        assert (await registration(broker))["payload"]["device_type"] == "service"
        assert "from-supervisor" not in log.read_text()
    finally:
        server.terminate()
        await server.wait()
        await runner.cleanup()


async def test_no_mqtt_service_yet_serves_wyoming_and_retries(
    tmp_path: Path, broker: Mosquitto
) -> None:
    """Mosquitto still starting: Assist is served, and the bridge starts once it is there."""
    fake = FakeSupervisor(None)
    runner, url = await serve_fake(fake)
    port = free_port()
    log = tmp_path / "run.log"
    process = await addon("run", url, options_file(tmp_path, port), log)
    try:
        await wait_for_log(log, "Install and start the Mosquitto broker add-on")
        assert "no MQTT service from the Supervisor" in log.read_text()
        assert (await describe(f"tcp://127.0.0.1:{port}")).tts[0].installed
        assert process.returncode is None
        fake.mqtt = MQTT_SERVICE | {"port": broker.port}
        assert (await registration(broker))["payload"]["device_type"] == "service"
        await wait_for_log(log, "MQTT service: the Supervisor answered")
    finally:
        process.terminate()
        await process.wait()
        await runner.cleanup()


async def test_refused_discovery_is_logged_retried_and_never_stops_the_server(
    tmp_path: Path, socket_enabled: None
) -> None:
    fake = FakeSupervisor(None, discovery_status=403)
    runner, url = await serve_fake(fake)
    port = free_port()
    log = tmp_path / "run.log"
    process = await addon("run", url, options_file(tmp_path, port), log)
    try:
        await wait_for_log(log, "POST /discovery: Forbidden (HTTP 403)")
        assert (await describe(f"tcp://127.0.0.1:{port}")).asr[0].installed
        fake.discovery_status = 200  # Home Assistant is up now
        await wait_for_log(log, "Wyoming discovery sent")
        assert fake.discoveries[0]["config"]["uri"].endswith(f":{port}")
        assert process.returncode is None
    finally:
        process.terminate()
        await process.wait()
        await runner.cleanup()


async def test_sigterm_stops_cleanly_and_says_offline(
    tmp_path: Path, broker: Mosquitto
) -> None:
    runner, url = await serve_fake(FakeSupervisor(MQTT_SERVICE | {"port": broker.port}))
    log = tmp_path / "run.log"
    process = await addon("run", url, options_file(tmp_path, free_port()), log)
    try:
        device_id = (await registration(broker))["payload"]["device_id"]
        await wait_for_log(log, "Wyoming discovery sent")
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
        assert "Stopped" in log.read_text()
        assert "Traceback" not in log.read_text()
        async with bus_client(
            broker.port, f"alicia/devices/{device_id}/status",
            username="addons", password="from-supervisor",
        ) as client:  # fmt: skip
            status = await client.wait_for(lambda m: True, limit=10)
        assert status["payload"]["state"] == "offline"
    finally:
        if process.returncode is None:
            process.kill()
        await runner.cleanup()


async def test_invalid_options_are_a_clear_exit(tmp_path: Path) -> None:
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"stt_beam_size": 0}))
    process = await addon("run", "http://127.0.0.1:9", options, tmp_path / "run.log")
    assert await asyncio.wait_for(process.wait(), 30) == 2
    assert "stt_beam_size must be at least 1" in (tmp_path / "run.log").read_text()
