"""The Supervisor's HTTP API, the few calls the app makes, on a real port (its wire format)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tests.conftest import free_port

TOKEN = "supervisor-token-for-tests"


class FakeSupervisor:
    def __init__(
        self,
        mqtt: dict[str, Any] | None,
        discovery_status: int = 200,
        network: dict[str, int | None] | None = None,
        info_status: int = 200,
        info_gate: asyncio.Event | None = None,
    ) -> None:
        """network: the app's saved port mappings (config.yaml's, none published, if None).

        info_gate: /addons/self/info answers once it is set (a Supervisor slow at boot).
        """
        self.mqtt = mqtt
        self.discovery_status = discovery_status
        self.network = network if network is not None else {"10310/tcp": None}
        self.info_status = info_status
        self.info_gate = info_gate
        self.infos_asked = 0
        self.discoveries: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.hostname = "local-alicia"

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

    async def _self_info(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        self.infos_asked += 1
        if self.info_gate is not None:
            await self.info_gate.wait()
        if self.info_status != 200:
            return web.json_response(
                {"result": "error", "message": "Forbidden"}, status=self.info_status
            )
        data = {"slug": "alicia", "hostname": self.hostname, "network": self.network}
        return web.json_response({"result": "ok", "data": data})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/services/mqtt", self._services_mqtt)
        app.router.add_post("/discovery", self._discovery)
        app.router.add_get("/addons/self/info", self._self_info)
        return app


async def serve_fake(
    fake: FakeSupervisor, host: str = "127.0.0.1", port: int | None = None
) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    port = port or free_port()
    await web.TCPSite(runner, host, port).start()
    return runner, f"http://{host}:{port}"
