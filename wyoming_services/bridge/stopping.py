"""The bridge's stop: what was delivered answered, then offline, all within the grace."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sized
import contextlib
import errno
import logging

import aiomqtt

from .tasks import TaskPool

_LOGGER = logging.getLogger(__name__)
# The last part of the grace, kept for saying offline.
OFFLINE_SECONDS = 1.0

SayOffline = Callable[[aiomqtt.Client, float], Awaitable[None]]


async def drain(
    client: aiomqtt.Client,
    consume: asyncio.Task[None],
    grace: float,
    *,
    pool: TaskPool,
    waiting: Sized,
    topics: list[str],
    say_offline: SayOffline,
) -> None:
    """Finish within the grace; at once if the broker goes (nothing could be said then).

    waiting: requests received, not yet in the pool.
    """
    finish = asyncio.create_task(
        _finish(
            client,
            grace,
            pool=pool,
            waiting=waiting,
            topics=topics,
            say_offline=say_offline,
        )
    )
    # `consume` ends only with the connection: a broker stopping with us (Ctrl-C in
    # scripts/develop) must not hold us for its 10 s timeouts.
    await asyncio.wait({finish, consume}, return_when=asyncio.FIRST_COMPLETED)
    try:
        if finish.done():
            finish.result()
            return
        finish.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await finish
        _LOGGER.info("Stopping without the broker (%s)", consume.exception())
    finally:
        # What the grace did not finish ends here, before the engines close under it.
        await pool.cancel()


async def _finish(
    client: aiomqtt.Client,
    grace: float,
    *,
    pool: TaskPool,
    waiting: Sized,
    topics: list[str],
    say_offline: SayOffline,
) -> None:
    """Unsubscribe, serve what the broker already delivered, then go offline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(grace - OFFLINE_SECONDS, 0.0)
    with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
        # After the broker's answer, nothing more comes: the other bridges of the
        # shared group get the requests.
        await client.unsubscribe(topics, timeout=max(deadline - loop.time(), 0.1))
    while (len(client.messages) or waiting or pool) and loop.time() < deadline:
        if pool:
            await pool.any_done(deadline - loop.time())
        else:
            await asyncio.sleep(0.01)
    if pool or waiting:
        _LOGGER.warning(
            "Stopping with %d requests unanswered after %.0f s",
            len(pool) + len(waiting), grace,
        )  # fmt: skip
    with contextlib.suppress(aiomqtt.MqttError):
        await say_offline(client, OFFLINE_SECONDS)


def quiet_lost_socket(
    loop: asyncio.AbstractEventLoop, context: dict[str, object]
) -> None:
    """The loop's exception handler: one known race made a debug line, all else as usual.

    aiomqtt asks the loop to watch paho's socket from paho's thread; when the broker
    goes at that moment, paho has closed the socket before the loop runs the request
    (EBADF). Nothing is lost: the bridge is stopping without the broker anyway.
    """
    error, handle = context.get("exception"), repr(context.get("handle"))
    if (
        isinstance(error, OSError)
        and error.errno == errno.EBADF
        and ("add_writer" in handle or "add_reader" in handle)
    ):
        _LOGGER.debug("The MQTT socket closed before the loop watched it: %s", error)
        return
    loop.default_exception_handler(context)
