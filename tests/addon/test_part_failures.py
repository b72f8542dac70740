"""A bridge or discovery that cannot work is said in the log, retried or ends the app: never silent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
import pytest

from tests.addon.fake_supervisor import TOKEN, FakeSupervisor, serve_fake
from tests.addon.test_supervisor import addon, options_file
from tests.conftest import free_port
from wyoming_services import addon as addon_module, server
from wyoming_services.addon import EXIT_PART, Supervisor, SupervisorError
from wyoming_services.settings import Settings


@pytest.fixture
async def raw_supervisor(socket_enabled: None) -> AsyncIterator[dict[str, str]]:
    """A Supervisor answering 200 with whatever body the test puts in the mapping."""
    bodies: dict[str, str] = {}

    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=bodies[request.path], content_type="application/json")

    app = web.Application()
    app.router.add_get("/services/mqtt", answer)
    app.router.add_post("/discovery", answer)
    app.router.add_get("/addons/self/info", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bodies["url"] = f"http://127.0.0.1:{port}"
    yield bodies
    await runner.cleanup()


def ok(data: Any) -> str:
    return json.dumps({"result": "ok", "data": data})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("[]", "not a JSON object"),
        (ok(["host"]), "its data is not a JSON object"),
        (ok({"host": "core-mosquitto", "port": None}), "unusable port"),
        (ok({"host": "core-mosquitto", "port": "1883"}), "unusable port"),
        (ok({"host": "core-mosquitto", "port": 70000}), "unusable port"),
        (ok({"host": "core-mosquitto", "port": True}), "unusable port"),
        (ok({"host": ["a"], "port": 1883}), "unusable host"),
        (ok({"host": "core-mosquitto", "username": 5}), "unusable username"),
    ],
)
async def test_a_malformed_mqtt_service_is_a_supervisor_error(
    raw_supervisor: dict[str, str], body: str, reason: str
) -> None:
    """The fault: a 200 with a list or a null port ended the bridge's task, unlogged (AttributeError, TypeError)."""
    raw_supervisor["/services/mqtt"] = body
    with pytest.raises(SupervisorError, match=reason):
        await Supervisor(raw_supervisor["url"], TOKEN).mqtt()


async def test_a_malformed_discovery_answer_is_a_supervisor_error(
    raw_supervisor: dict[str, str],
) -> None:
    """Retried with the backoff, as a refusal is, instead of killing the discovery task."""
    raw_supervisor["/discovery"] = "[1, 2]"
    with pytest.raises(SupervisorError, match="not a JSON object"):
        await Supervisor(raw_supervisor["url"], TOKEN).discover_wyoming("tcp://x:1")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"slug": "alicia"}, "has no network"),
        ({"network": ["10300/tcp"]}, "unusable network"),
        ({"network": {"10300/tcp": "10300"}}, "unusable network"),
        ({"network": {"10300/tcp": True}}, "unusable network"),
    ],
)
async def test_a_malformed_network_is_a_supervisor_error(
    raw_supervisor: dict[str, str], data: dict[str, Any], reason: str
) -> None:
    """Retried with the backoff, as a malformed MQTT service is; never taken for "not published"."""
    raw_supervisor["/addons/self/info"] = ok(data)
    with pytest.raises(SupervisorError, match=reason) as raised:
        await Supervisor(raw_supervisor["url"], TOKEN).network()
    assert not raised.value.refused


async def test_the_apps_network_is_taken_when_sound(
    raw_supervisor: dict[str, str],
) -> None:
    supervisor = Supervisor(raw_supervisor["url"], TOKEN)
    raw_supervisor["/addons/self/info"] = ok({"network": {"10300/tcp": 10300}})
    assert await supervisor.network() == {"10300/tcp": 10300}
    raw_supervisor["/addons/self/info"] = ok({"network": None})  # an app without ports
    assert await supervisor.network() == {}


async def test_the_supervisors_mqtt_port_is_taken_when_sound(
    raw_supervisor: dict[str, str],
) -> None:
    raw_supervisor["/services/mqtt"] = ok({"host": "core-mosquitto", "port": 1884})
    found = await Supervisor(raw_supervisor["url"], TOKEN).mqtt()
    settings = addon_module.settings_with_mqtt(Settings(), found)
    assert (settings.mqtt_host, settings.mqtt_port) == ("core-mosquitto", 1884)
    raw_supervisor["/services/mqtt"] = ok({"host": "core-mosquitto"})
    assert (await Supervisor(raw_supervisor["url"], TOKEN).mqtt())["port"] == 1883


async def test_a_discovery_that_dies_stops_the_app_with_an_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The fault: the task's exception was only gathered at shutdown; the app ran on without it."""

    async def broken(*_: object) -> None:
        raise RuntimeError("no host name")

    async def serving(
        settings: Settings, stop: asyncio.Event, broker: object, published: object
    ) -> None:
        await stop.wait()

    monkeypatch.setattr(addon_module, "discover", broken)
    monkeypatch.setattr(server, "serve", serving)
    with caplog.at_level(logging.ERROR):
        code = await asyncio.wait_for(addon_module.run(Settings(), Supervisor()), 10)
    assert code == EXIT_PART
    assert "The Wyoming discovery stopped: RuntimeError('no host name')" in caplog.text


@pytest.mark.slow
async def test_a_key_file_without_a_usable_key_stops_the_app_and_says_which(
    tmp_path: Path, socket_enabled: None
) -> None:
    """The fault: a key file the bridge cannot use left the bus bridge dead, unlogged, the app healthy."""
    key = tmp_path / "bridge.pem"
    key.write_bytes(
        X25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    closed = free_port()
    fake = FakeSupervisor({"host": "127.0.0.1", "port": closed})
    runner, url = await serve_fake(fake)
    options = options_file(tmp_path, free_port())
    values = json.loads(options.read_text())
    options.write_text(json.dumps(values | {"security_key_file": str(key)}))
    log = tmp_path / "run.log"
    process = await addon("run", url, options, log)
    try:
        code = await asyncio.wait_for(process.wait(), 120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runner.cleanup()
    text = log.read_text()
    assert code == EXIT_PART, text
    assert "ERROR wyoming_services.server: The alicia bus bridge stopped" in text, text
    assert f"its key file {key} holds no key it can use" in text, text
