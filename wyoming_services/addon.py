"""The Supervisor app's (add-on's) entry point: options, MQTT credentials, discovery, health check.

The image's s6 service runs `python -m wyoming_services.addon run`; its HEALTHCHECK
runs `... healthcheck`. Asking the Supervisor is retried, never fatal: the Wyoming
server serves Assist whether or not the broker or Home Assistant is ready yet. A
bridge or discovery that dies otherwise is logged and ends the process (EXIT_PART),
so s6 stops the container and the Supervisor's watchdog restarts it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
import logging
import os
from pathlib import Path
import socket
import sys
from typing import Any

import httpx
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from .authority import UriPort
from .setting_values import read_options_file
from .settings import Settings, SettingsError

_LOGGER = logging.getLogger(__name__)
OPTIONS = Path("/data/options.json")
CUT_FOLDER = "/data/piper-cut"
EXIT_PART = 1
EXIT_SETTINGS = 2
# The container port config.yaml lets the user publish (satellites on the network).
# Home Assistant's, the uri's 10300, is not offered, but a mapping the user saved
# for it before stays published (the Supervisor keeps saved mappings across updates).
LAN_PORT = 10310
# Asking the Supervisor again after 1, 2, 4 ... 60 s.
RETRY_FIRST = 1.0
RETRY_MAX = 60.0
# How long the listeners wait for the Supervisor to say whether HA's port is published
# (relays, Home Assistant's address among them, are strangers there until it has).
PORTS_FIRST_ANSWER = 3.0


class SupervisorError(Exception):
    """The Supervisor refused or could not answer; the text says what to do."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        """refused: the Supervisor said no (HTTP 4xx), or would (no token)."""
        super().__init__(message)
        self.refused = refused


class Supervisor:
    """The few Supervisor API calls the add-on needs."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        """Use SUPERVISOR_URL (tests) or http://supervisor, and the add-on's token."""
        self.url = (
            url or os.environ.get("SUPERVISOR_URL") or "http://supervisor"
        ).rstrip("/")
        self._token = (
            token if token is not None else os.environ.get("SUPERVISOR_TOKEN", "")
        )

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if not self._token:
            raise SupervisorError(
                "SUPERVISOR_TOKEN is not set: not running as an add-on?", refused=True
            )
        try:
            async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
                response = await client.request(
                    method,
                    path,
                    json=body,
                    headers={"Authorization": f"Bearer {self._token}"},
                )
        except httpx.HTTPError as err:
            raise SupervisorError(
                f"cannot reach the Supervisor at {self.url}: {err}"
            ) from err
        try:
            answer: Any = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {"message": f"not a JSON object: {response.text[:200]}"}
        if response.status_code != 200 or answer.get("result") != "ok":
            reason = (
                answer.get("message")
                or response.text[:200]
                or f"HTTP {response.status_code}"
            )
            raise SupervisorError(
                f"{method} {path}: {reason} (HTTP {response.status_code})",
                refused=400 <= response.status_code < 500,
            )
        data = answer.get("data") or {}
        if not isinstance(data, dict):
            raise SupervisorError(f"{method} {path}: its data is not a JSON object")
        return data

    async def mqtt(self) -> dict[str, Any]:
        """Broker host, port, ssl, username and password from the MQTT service."""
        try:
            data = await self._call("GET", "/services/mqtt")
        except SupervisorError as err:
            raise SupervisorError(
                f"no MQTT service from the Supervisor ({err}). Install and start the "
                "Mosquitto broker add-on, then restart Alicia."
            ) from err
        if not data.get("host"):
            raise SupervisorError("the Supervisor's MQTT service has no host yet")
        return checked_mqtt(data)

    async def network(self) -> dict[str, int | None]:
        """The app's port mappings as saved: container port ("10310/tcp") to host port or None."""
        return checked_network(await self._call("GET", "/addons/self/info"))

    async def discover_wyoming(self, uri: str) -> None:
        """Tell HA where the Wyoming server is."""
        await self._call(
            "POST", "/discovery", {"service": "wyoming", "config": {"uri": uri}}
        )


def checked_mqtt(data: dict[str, Any]) -> dict[str, Any]:
    """The MQTT service's fields, each of the type it must have, or SupervisorError."""
    port = data.get("port", 1883)
    wrong = [
        name
        for name, ok in (
            ("host", isinstance(data.get("host"), str)),
            ("port", type(port) is int and 1 <= port <= 65535),
            ("username", isinstance(data.get("username"), str | None)),
            ("password", isinstance(data.get("password"), str | None)),
            ("ssl", isinstance(data.get("ssl"), bool | None)),
        )
        if not ok
    ]
    if wrong:
        raise SupervisorError(
            f"the Supervisor's MQTT service has an unusable {', '.join(wrong)}"
        )
    return data | {"port": port}


def checked_network(info: dict[str, Any]) -> dict[str, int | None]:
    """The add-on info's network (null: no ports), or SupervisorError when unusable."""
    if "network" not in info:
        raise SupervisorError("the Supervisor's add-on info has no network")
    network = info["network"] or {}
    if not isinstance(network, dict) or not all(
        isinstance(port, str) and (host is None or type(host) is int)
        for port, host in network.items()
    ):
        raise SupervisorError("the Supervisor's add-on info has an unusable network")
    return network


def addon_settings(options: Path) -> Settings:
    """The add-on's options, serving satellites on LAN_PORT unless they name a port."""
    settings = Settings.load(["--options", str(options)], {})
    # /data survives restarts and updates; backups leave its *.onnx out (config.yaml).
    settings = replace(settings, tts_cut_folder=settings.tts_cut_folder or CUT_FOLDER)
    if "wyoming_lan_port" in read_options_file(options, {"wyoming_lan_port"}):
        return settings
    return replace(settings, wyoming_lan_port=LAN_PORT)


def settings_with_mqtt(settings: Settings, mqtt: dict[str, Any]) -> Settings:
    """The options, with the broker the Supervisor gave (options may override the host)."""
    return replace(
        settings,
        mqtt_host=settings.mqtt_host or str(mqtt["host"]),
        mqtt_port=int(mqtt.get("port", 1883)),
        mqtt_username=settings.mqtt_username or str(mqtt.get("username") or ""),
        mqtt_password=settings.mqtt_password or str(mqtt.get("password") or ""),
        mqtt_tls=settings.mqtt_tls or bool(mqtt.get("ssl")),
        # /data survives add-on updates: the bridge keeps its identity.
        security_key_file=settings.security_key_file or "/data/alicia_bridge.pem",
    )


def wyoming_port(settings: Settings) -> int:
    """The port of a tcp:// URI."""
    return int(settings.uri.rsplit(":", 1)[1])


async def wait_for_wyoming(port: int, limit: float | None) -> Info:
    """Until the server answers describe on 127.0.0.1:port."""
    async with asyncio.timeout(limit):
        while True:
            try:
                async with AsyncTcpClient("127.0.0.1", port) as client:
                    await client.write_event(Describe().event())
                    while (event := await client.read_event()) is not None:
                        if Info.is_type(event.type):
                            return Info.from_event(event)
            except OSError:
                pass
            await asyncio.sleep(0.2)


async def retried[T](
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    until_refused: bool = False,
    meanwhile: str = "",
) -> T:
    """call() until the Supervisor answers, logging why it did not and when it did.

    until_refused: a refusal is raised, not asked again. meanwhile: what holds
    until it answers, said with each retry.
    """
    delay = RETRY_FIRST
    failed = False
    while True:
        try:
            result = await call()
        except SupervisorError as err:
            if until_refused and err.refused:
                raise
            _LOGGER.warning("%s; retrying in %.0f s%s", err, delay, meanwhile)
            failed = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
            continue
        if failed:
            _LOGGER.info("%s: the Supervisor answered", what)
        return result


async def discover(settings: Settings, supervisor: Supervisor) -> None:
    """Post the discovery once the server answers (retried until the Supervisor takes it)."""
    port = wyoming_port(settings)
    await wait_for_wyoming(port, limit=None)
    uri = f"tcp://{socket.gethostname()}:{port}"
    await retried("Wyoming discovery", lambda: supervisor.discover_wyoming(uri))
    _LOGGER.info("Wyoming discovery sent to Home Assistant: %s", uri)


async def check_home_assistant_port(
    settings: Settings, supervisor: Supervisor, port: UriPort
) -> None:
    """Ask whether the user's saved mappings publish HA's port; mark the answer, and say so if it is."""
    container_port = wyoming_port(settings)
    try:
        network = await retried(
            "The app's network", supervisor.network, until_refused=True,
            meanwhile=f" (meanwhile no client relayed to port {container_port} is "
            "trusted, Home Assistant included)",
        )  # fmt: skip
    except SupervisorError as err:
        _LOGGER.warning(
            "Cannot tell whether port %s, Home Assistant's, is published on your "
            "network (%s): its clients are trusted as before. If you ever published "
            "it under the app's Configuration → Network, remove that mapping",
            container_port, err,
        )  # fmt: skip
        port.published = False
        return
    host_port = network.get(f"{container_port}/tcp")
    if host_port is None:
        port.published = False
        return
    closed = port.turned_published()
    lan = settings.wyoming_lan_port
    _LOGGER.error(
        "Port %s, Home Assistant's, is published on your network as host port %s "
        "(the app's Configuration → Network): clients relayed through it look like "
        "Home Assistant, so none is trusted (%d open connection%s from such an "
        "address closed) and Home Assistant itself gets no home tools or agent "
        "proof from this app until you remove that mapping%s",
        container_port, host_port, closed, "" if closed == 1 else "s",
        f"; publish {lan} for satellites instead" if lan else "",
    )  # fmt: skip


def _trusted_late(settings: Settings, port: UriPort) -> None:
    """The late answer, when it says HA's port is not published (the warning said it was not trusted)."""
    if port.published is False:
        _LOGGER.info(
            "Port %s, Home Assistant's, is not published on your network: Home "
            "Assistant's connections are trusted from now on",
            wyoming_port(settings),
        )


async def run(settings: Settings, supervisor: Supervisor) -> int:
    """Serve Wyoming and the bridge with the Supervisor's broker until SIGTERM; post discovery.

    Returns the exit code: EXIT_PART when the bridge or discovery died (logged).
    """
    from .server import PartFailed, serve, stop_on_signals  # noqa: PLC0415 - keep healthcheck light

    async def broker() -> Settings:
        mqtt = await retried("MQTT service", supervisor.mqtt)
        return settings_with_mqtt(settings, mqtt)

    stop = stop_on_signals()
    died: list[BaseException] = []

    def discovered(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            _LOGGER.error(
                "The Wyoming discovery stopped: %r. Stopping the app, so that it is "
                "restarted (the Supervisor's watchdog)",
                error,
            )
            died.append(error)
            stop.set()

    ha_port = UriPort(published=None)
    checking = asyncio.create_task(
        check_home_assistant_port(settings, supervisor, ha_port)
    )
    # Home Assistant is a stranger until the answer: spare it that if it comes soon.
    await asyncio.wait({checking}, timeout=PORTS_FIRST_ANSWER)
    if ha_port.published is None:
        checking.add_done_callback(lambda _: _trusted_late(settings, ha_port))
        _LOGGER.warning(
            "The Supervisor has not said yet whether port %s, Home Assistant's, is "
            "published on your network: until it answers that it is not, no client "
            "relayed to that port is trusted, Home Assistant included (it connects "
            "from such an address too), so Assist gets no home tools or agent "
            "answers from this app meanwhile; its next connection after that "
            "answer is trusted",
            wyoming_port(settings),
        )  # fmt: skip
    discovery = asyncio.create_task(discover(settings, supervisor))
    discovery.add_done_callback(discovered)
    try:
        await serve(settings, stop, broker, ha_port)
    except PartFailed:
        return EXIT_PART  # the server logged why
    finally:
        checking.cancel()
        discovery.cancel()
        await asyncio.gather(checking, discovery, return_exceptions=True)
    return EXIT_PART if died else 0


def main(argv: list[str] | None = None) -> int:
    """`python -m wyoming_services.addon run|healthcheck [--options FILE]`."""
    parser = argparse.ArgumentParser(prog="python -m wyoming_services.addon")
    parser.add_argument("command", choices=["run", "healthcheck"])
    parser.add_argument("--options", type=Path, default=OPTIONS)
    args = parser.parse_args(argv)
    try:
        settings = addon_settings(args.options)
    except SettingsError as err:
        print(f"alicia: invalid add-on options: {err}", file=sys.stderr)
        return EXIT_SETTINGS
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    supervisor = Supervisor()
    try:
        if args.command == "healthcheck":
            asyncio.run(wait_for_wyoming(wyoming_port(settings), limit=5))
        else:
            return asyncio.run(run(settings, supervisor))
    except TimeoutError:
        _LOGGER.error(
            "The Wyoming server did not answer on port %s", wyoming_port(settings)
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
