"""The Wyoming endpoint, assembled: one server, a handler per connection, shared engines, the bridge."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging

from wyoming.server import AsyncServer, AsyncStdioServer

from .bridge import Bridge
from .engines import Engines
from .settings import Settings
from .wyoming_handler import AliciaEventHandler

_LOGGER = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    """Run the server until cancelled."""
    engines = Engines(settings)
    server = AsyncServer.from_uri(settings.uri)
    loading = asyncio.create_task(engines.load())
    bridge_task: asyncio.Task[None] | None = None
    _LOGGER.info("Serving Wyoming on %s (models loading)", settings.uri)

    def factory(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> AliciaEventHandler:
        return AliciaEventHandler(engines, reader, writer)

    try:
        if isinstance(server, AsyncStdioServer):
            # One client on stdin/stdout; the server ends when it closes.
            await server.run(factory)
            return
        await server.start(factory)
        await loading
        if settings.mqtt_host:
            # After loading, so the registration names the models really in use.
            bridge_task = asyncio.create_task(Bridge(settings, engines).run())
        _LOGGER.info(
            "Ready (wyoming %s): %s",
            importlib.metadata.version("wyoming"),
            {k: v for k, v in settings.redacted().items() if k != "uri"},
        )
        await asyncio.Event().wait()
    finally:
        loading.cancel()
        if bridge_task is not None:
            bridge_task.cancel()
            await asyncio.gather(bridge_task, return_exceptions=True)
        await server.stop()
        await engines.close()
