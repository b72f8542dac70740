"""The Wyoming endpoint, assembled: one server, a handler per connection, shared engines, the bridge."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
import importlib.metadata
import logging
import os
import signal
import socket
from urllib.parse import urlparse, urlunparse

from wyoming.server import AsyncStdioServer

from .authority import UriPort, beyond_relays, relayed
from .bridge import Bridge
from .bridge.liveness import WyomingProbe
from .bridge.stopping import quiet_lost_socket
from .engines import Engines
from .heap import few_malloc_arenas, heap_reused
from .keys import AgentProofs
from .settings import Settings
from .wyoming_handler import AliciaEventHandler

_LOGGER = logging.getLogger(__name__)
# In-flight work gets this long at shutdown; the Supervisor kills a container 10 s
# after asking it to stop, and s6 needs its own moment after us.
STOP_GRACE = 5.0
# Connections waiting to be accepted: with asyncio's 100, a burst of hostile
# connections filled the queue and Home Assistant's waited seconds for a SYN retry.
BACKLOG = 1024
# The kernel's buffer for what a peer has not read yet. Left to grow (to 4 MiB on
# Linux), it let each peer that never reads have 2,400 describe answers made for it.
SEND_BUFFER = 64 * 1024

BrokerLookup = Callable[[], Awaitable[Settings]]


class PartFailed(RuntimeError):
    """A part the app runs beside Wyoming (the bus bridge, discovery) died; the text says why."""


def lan_uri(settings: Settings) -> str | None:
    """Where the public listener serves: the uri's host on wyoming_lan_port; None when off."""
    if not settings.wyoming_lan_port:
        return None
    parsed = urlparse(settings.uri)
    host = parsed.netloc.rpartition(":")[0]
    return urlunparse(parsed._replace(netloc=f"{host}:{settings.wyoming_lan_port}"))


async def listen(
    uri: str,
    factory: Callable[[asyncio.StreamReader, asyncio.StreamWriter], AliciaEventHandler],
) -> asyncio.Server:
    """Accept tcp:// or unix:// connections, one handler each."""

    async def connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        await factory(reader, writer).run()

    parsed = urlparse(uri)
    if parsed.scheme == "tcp" and parsed.hostname and parsed.port:
        return await asyncio.start_server(
            connection, parsed.hostname, parsed.port, backlog=BACKLOG
        )
    if parsed.scheme == "unix":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(parsed.path)  # a socket left by an earlier run
        return await asyncio.start_unix_server(connection, parsed.path, backlog=BACKLOG)
    raise ValueError(
        f"cannot serve {uri}: use tcp://HOST:PORT, unix://PATH or stdio://"
    )


async def close(listener: asyncio.Server, grace: float) -> None:
    """Take no new connections; give those open `grace` seconds to finish."""
    # Stop accepting first, then let the accepts under way make their transports:
    # closed between the two, a half-made transport cannot be counted by asyncio's
    # Server, and its deallocator logs a TypeError after we stopped.
    loop = asyncio.get_running_loop()
    for sock in listener.sockets:
        loop.remove_reader(sock.fileno())
    await asyncio.sleep(0)
    listener.close()
    try:
        await asyncio.wait_for(listener.wait_closed(), grace)
    except TimeoutError:
        _LOGGER.warning("Closing Wyoming connections still open after %.0f s", grace)
        listener.close_clients()
        await listener.wait_closed()


async def serve(
    settings: Settings,
    stop: asyncio.Event | None = None,
    broker: BrokerLookup | None = None,
    uri_port: UriPort | None = None,
) -> None:
    """Serve until `stop` is set (or cancelled); `broker` finds the bridge's MQTT settings.

    uri_port: whether the uri's port is published on the network (a user's mapping,
    as the add-on learns it): its connections are then taken as on the public port.
    """
    few_malloc_arenas()  # before the engines' threads
    heap_reused()
    stop = stop or asyncio.Event()
    engines = Engines(settings)
    loading = asyncio.create_task(engines.load())
    proofs = AgentProofs()

    home_port = uri_port or UriPort()

    def factory(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> AliciaEventHandler:
        handler = AliciaEventHandler(
            engines, reader, writer, proofs=proofs,
            public=home_port.public, lan=home_port.lan,
        )  # fmt: skip
        if relayed(writer):
            home_port.accepted(handler, trusted=handler.authority.may_act)
        return handler

    def public(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> AliciaEventHandler:
        return AliciaEventHandler(engines, reader, writer, proofs=proofs, public=True)

    if settings.uri.startswith("stdio://"):
        # One client on stdin/stdout; the server ends when it closes.
        try:
            await AsyncStdioServer().run(factory)
        finally:
            loading.cancel()
            await engines.close()
        return

    listener = await listen(settings.uri, factory)
    listeners = [listener]
    if (lan := lan_uri(settings)) is not None:
        listeners.append(await listen(lan, public))
    served = " and ".join(filter(None, [settings.uri, lan]))
    _LOGGER.info("Serving Wyoming on %s (models loading)", served)
    warn_of_wide_trust(settings.wyoming_trusted_clients, served)
    bridges: list[Bridge] = []
    bridge_task: asyncio.Task[None] | None = None
    failure: BaseException | None = None

    async def bridge() -> None:
        found = await broker() if broker is not None else settings
        if found.mqtt_host:
            # After loading, so the registration names the models really in use.
            try:
                bridges.append(Bridge(found, engines, WyomingProbe(listener)))
            except (OSError, ValueError) as err:
                raise PartFailed(_key_trouble(found, err)) from err
            # HA's agent asks a server typed in by hand to prove it holds this key.
            proofs.use(bridges[0].key, bridges[0].bridge_id)
            # Grok reads and controls the home through the bus, as HA allows.
            engines.grok.tools = bridges[0].home_tools
            await bridges[0].run()

    asyncio.get_running_loop().set_exception_handler(quiet_lost_socket)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if loading.done():
            loading.result()  # a failure to load stops the server, as it says why
        if not stop.is_set():
            bridge_task = asyncio.create_task(bridge())
            _LOGGER.info(
                "Ready (wyoming %s): %s",
                importlib.metadata.version("wyoming"),
                {k: v for k, v in settings.redacted().items() if k != "uri"},
            )
            await asyncio.wait(
                {stopping, bridge_task}, return_when=asyncio.FIRST_COMPLETED
            )
            failure = _died(bridge_task)
            if failure is None:
                await stopping
        _LOGGER.info(
            "Stopping: finishing what is in flight (at most %.0f s)", STOP_GRACE
        )
    finally:
        stopping.cancel()
        loading.cancel()
        await asyncio.gather(
            _stop_bridge(bridges, bridge_task),
            *(close(each, STOP_GRACE) for each in listeners),
        )
        await engines.close()
        _LOGGER.info("Stopped")
    if failure is not None:
        raise PartFailed(str(failure)) from failure


def warn_of_wide_trust(trusted: Sequence[str], served: str) -> None:
    """One warning when wyoming_trusted_clients trusts more than this machine and the Supervisor's network."""
    if wide := beyond_relays(trusted):
        _LOGGER.warning(
            "wyoming_trusted_clients lists %s: clients on your network at those "
            "addresses are fully trusted on %s, as Home Assistant is (Grok's home "
            "tools, the agent's proof of this app)",
            ", ".join(wide), served,
        )  # fmt: skip


def _died(task: asyncio.Task[None]) -> BaseException | None:
    """The bridge task's error, logged once, if it died (it only ends when stopped)."""
    if not task.done() or task.cancelled() or task.exception() is None:
        return None
    error = task.exception()
    reason = str(error) if isinstance(error, PartFailed) else repr(error)
    _LOGGER.error(
        "The alicia bus bridge stopped: %s. Stopping the app, so that it is "
        "restarted (the Supervisor's watchdog)",
        reason,
    )
    _LOGGER.debug("The bridge's error", exc_info=error)
    return error


def _key_trouble(settings: Settings, err: Exception) -> str:
    """Why the bridge could not start with its key file, and what to do."""
    path = settings.security_key_file or "the default key file"
    if isinstance(err, ValueError):
        return (
            f"its key file {path} holds no key it can use ({err}); move the file "
            "away and restart: a new key is made, and Home Assistant asks once to "
            "approve it"
        )
    return f"it cannot read or write its key file {path} ({err})"


async def _stop_bridge(bridges: list[Bridge], task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    if bridges:
        bridges[0].stop(STOP_GRACE)
        # A connect to a broker that does not answer is not cut by stop(): the grace
        # holds anyway.
        await asyncio.wait({task}, timeout=STOP_GRACE + 0.5)
    task.cancel()  # (else still looking for the broker)
    await asyncio.gather(task, return_exceptions=True)


def stop_on_signals() -> asyncio.Event:
    """An event SIGTERM (the Supervisor stopping the app) or SIGINT sets."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop
