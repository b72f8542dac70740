"""The bridge's self-check of the Wyoming server it runs with: whether its listener answers."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from wyoming.event import async_read_event, async_write_event
from wyoming.info import Describe, Info

_LOGGER = logging.getLogger(__name__)
# A describe answered within this long: the listener and the event loop are alive.
PROBE_SECONDS = 5.0


class WyomingProbe:
    """Asks the server's own listener what it serves, as Home Assistant would."""

    def __init__(
        self, listener: asyncio.Server, timeout: float = PROBE_SECONDS
    ) -> None:
        """For the listener serve() opened."""
        self.listener = listener
        self.timeout = timeout
        self.answering = True

    async def __call__(self) -> bool:
        """Whether a describe through the listener gets its info in time (logged when that changes)."""
        try:
            async with asyncio.timeout(self.timeout):
                answered = await self._describe()
        except (OSError, TimeoutError, ValueError) as err:
            answered = False
            reason = str(err) or type(err).__name__
        else:
            reason = "no info in the answer"
        if answered != self.answering:
            self.answering = answered
            if answered:
                _LOGGER.info("The Wyoming listener answers again")
            else:
                _LOGGER.warning(
                    "The Wyoming listener did not answer a describe within %g s (%s): "
                    "reporting unhealthy",
                    self.timeout, reason,
                )  # fmt: skip
        return answered

    async def _describe(self) -> bool:
        if not self.listener.is_serving() or not self.listener.sockets:
            raise OSError("the listener is closed")
        address = self.listener.sockets[0].getsockname()
        if isinstance(address, str):
            reader, writer = await asyncio.open_unix_connection(address)
        else:
            host = str(address[0])
            if ipaddress.ip_address(host).is_unspecified:  # 0.0.0.0 or ::
                host = "::1" if ":" in host else "127.0.0.1"
            reader, writer = await asyncio.open_connection(host, address[1])
        try:
            await async_write_event(Describe().event(), writer)
            while (event := await async_read_event(reader)) is not None:
                if Info.is_type(event.type):
                    return True
            return False
        finally:
            writer.close()
