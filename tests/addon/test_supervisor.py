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

from aiohttp import web
import pytest

from tests.bus.client import bus_client
from tests.conftest import ROOT, Mosquitto, free_port
from tests.wyoming.client import describe

pytestmark = pytest.mark.slow
TOKEN = "supervisor-token-for-tests"


class FakeSupervisor:
    def __init__(
        self, mqtt: dict[str, Any] | None, discovery_status: int = 200
    ) -> None:
        self.mqtt = mqtt
        self.discovery_status = discovery_status
        self.discoveries: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []

    async def _services_mqtt(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        if self.mqtt is None:
            return web.json_response(
                {"result": "error", "message": "No service found"}, status=400
            )
        return web.json_response({"result": "ok", "data": self.mqtt})

    async def _discovery(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        if self.discovery_status != 200:
            return web.json_response(
                {"result": "error", "message": "Forbidden"},
                status=self.discovery_status,
            )
        self.discoveries.append(await request.json())
        return web.json_response({"result": "ok", "data": {"uuid": "abc"}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/services/mqtt", self._services_mqtt)
        app.router.add_post("/discovery", self._discovery)
        return app


async def serve_fake(fake: FakeSupervisor) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


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
    path.write_text(json.dumps(defaults | {"uri": f"tcp://127.0.0.1:{port}"}))
    return path


@pytest.fixture
async def broker(tmp_path: Path, socket_enabled: None) -> AsyncIterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path / "broker", users={"addons": "from-supervisor"})
    await asyncio.get_running_loop().run_in_executor(None, mosquitto.start)
    yield mosquitto
    mosquitto.stop()


async def test_credentials_from_supervisor_reach_mosquitto_and_discovery_is_posted(
    tmp_path: Path, broker: Mosquitto
) -> None:
    fake = FakeSupervisor(
        {
            "host": "127.0.0.1",
            "port": broker.port,
            "ssl": False,
            "protocol": "3.1.1",
            "username": "addons",
            "password": "from-supervisor",
        }
    )
    runner, url = await serve_fake(fake)
    port = free_port()
    options = options_file(tmp_path, port)
    server = await addon("run", url, options, tmp_path / "run.log")
    discover = await addon("discover", url, options, tmp_path / "discover.log")
    try:
        assert await asyncio.wait_for(discover.wait(), 120) == 0
        assert fake.discoveries == [
            {
                "service": "wyoming",
                "config": {"uri": f"tcp://{socket.gethostname()}:{port}"},
            }
        ]
        assert set(fake.authorizations) == {f"Bearer {TOKEN}"}
        assert (await describe(f"tcp://127.0.0.1:{port}")).asr[0].installed
        # The broker accepted the Supervisor's credentials: the bridge registered.
        async with bus_client(
            broker.port,
            "alicia/system/discovery/register/#",
            username="addons",
            password="from-supervisor",
        ) as client:
            registration = await client.wait_for(lambda m: True, limit=60)
            assert registration["payload"]["device_type"] == "service"
        assert "from-supervisor" not in (tmp_path / "run.log").read_text()
    finally:
        server.terminate()
        await server.wait()
        await runner.cleanup()


async def test_no_mqtt_service_is_a_clear_exit(
    tmp_path: Path, socket_enabled: None
) -> None:
    runner, url = await serve_fake(FakeSupervisor(None))
    try:
        process = await addon(
            "run", url, options_file(tmp_path, free_port()), tmp_path / "run.log"
        )
        assert await asyncio.wait_for(process.wait(), 60) == 3
        log = (tmp_path / "run.log").read_text()
        assert "no MQTT service from the Supervisor" in log
        assert "Install and start the Mosquitto broker add-on" in log
    finally:
        await runner.cleanup()


async def test_refused_discovery_is_a_clear_exit(
    tmp_path: Path, socket_enabled: None
) -> None:
    runner, url = await serve_fake(FakeSupervisor(None, discovery_status=403))
    port = free_port()
    options = options_file(tmp_path, port)
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_services", "--options", str(options), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        process = await addon("discover", url, options, tmp_path / "discover.log")
        assert await asyncio.wait_for(process.wait(), 120) == 4
        assert (
            "POST /discovery: Forbidden (HTTP 403)"
            in (tmp_path / "discover.log").read_text()
        )
    finally:
        server.terminate()
        await server.wait()
        await runner.cleanup()


async def test_invalid_options_are_a_clear_exit(tmp_path: Path) -> None:
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"stt_beam_size": 0}))
    process = await addon("run", "http://127.0.0.1:9", options, tmp_path / "run.log")
    assert await asyncio.wait_for(process.wait(), 30) == 2
    assert "stt_beam_size must be at least 1" in (tmp_path / "run.log").read_text()
