"""An MQTT client for tests and benchmarks: publish requests, wait for correlated answers."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
import json
import socket
from typing import Any

import aiomqtt

from alicia_bus.envelope import new_message, timestamp
from alicia_bus.signing import KeyPair


class BusClient:
    """Collects every message on the topics it subscribed to."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: dict[str, list[dict[str, Any] | bytes]] = defaultdict(list)
        self._arrived = asyncio.Condition()
        # Responses by correlation id, so waiting for one answer is O(1).
        self._answers: dict[str, dict[str, Any]] = {}
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def _collect(self) -> None:
        async for message in self.client.messages:
            raw = (
                message.payload
                if isinstance(message.payload, bytes)
                else str(message.payload).encode()
            )
            try:
                item: dict[str, Any] | bytes = json.loads(raw)
            except ValueError:
                item = raw
            if isinstance(item, dict) and isinstance(item.get("correlation_id"), str):
                correlation = item["correlation_id"]
                self._answers.setdefault(correlation, item)
                waiter = self._waiters.pop(correlation, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(item)
            async with self._arrived:
                self.messages[str(message.topic)].append(item)
                self._arrived.notify_all()

    async def publish(
        self, topic: str, message: dict[str, Any] | bytes, retain: bool = False
    ) -> None:
        raw = message if isinstance(message, bytes) else json.dumps(message).encode()
        await self.client.publish(topic, raw, qos=1, retain=retain)

    async def request(
        self,
        topic: str,
        payload: dict[str, Any],
        *,
        source: str = "test-device",
        reply_to: str | None = None,
        limit: float = 30,
    ) -> dict[str, Any]:
        message = new_message(source, "request", payload, reply_to=reply_to)
        await self.publish(topic, message)
        return await self.answer_to(message["message_id"], limit=limit)

    async def request_until_answered(
        self,
        topic: str,
        payload: dict[str, Any],
        *,
        every: float = 3.0,
        attempts: int = 10,
        key: KeyPair | None = None,
    ) -> tuple[dict[str, Any], int]:
        """What docs/protocol.md asks of requesters: re-send the same message until answered.

        key: the message signed with it (an approved device's, asking as it likes).
        """
        message = new_message("test-device", "request", payload)
        if key is not None:
            message = key.sign(topic, message)
        for attempt in range(1, attempts + 1):
            await self.publish(topic, message)
            try:
                return await self.answer_to(message["message_id"], limit=every), attempt
            except TimeoutError:
                continue
        raise TimeoutError(f"no answer after {attempts} attempts")

    async def answer_to(self, message_id: str, limit: float = 30) -> dict[str, Any]:
        """The first response anywhere whose correlation_id is message_id."""
        if (known := self._answers.get(message_id)) is not None:
            return known
        waiter = self._waiters.setdefault(
            message_id, asyncio.get_running_loop().create_future()
        )
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), limit)
        finally:
            if not waiter.done():
                self._waiters.pop(message_id, None)

    async def wait_for(
        self, match: Any, topic: str | None = None, limit: float = 30
    ) -> dict[str, Any]:
        async def found() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for name, items in self.messages.items():
                        if topic is not None and name != topic:
                            continue
                        for item in items:
                            if isinstance(item, dict) and match(item):
                                return item
                    await self._arrived.wait()

        return await asyncio.wait_for(found(), limit)


@asynccontextmanager
async def bus_client(
    port: int, *topics: str, username: str | None = None, password: str | None = None
) -> AsyncIterator[BusClient]:
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        username=username,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V5,
        socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
    ) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        bus = BusClient(client)
        collector = asyncio.create_task(bus._collect())
        try:
            yield bus
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)


HUB_TOPIC = "alicia/system/security/hub"
TRUST_TOPIC = "alicia/system/security/trust"


async def publish_hub_key(client: BusClient, hub: KeyPair) -> None:
    """The hub's key, self-signed and retained, as the integration publishes it."""
    offer = new_message("home-assistant", "event", {"public_key": hub.public_key})
    await client.publish(HUB_TOPIC, hub.sign(HUB_TOPIC, offer), retain=True)


async def publish_trust(
    client: BusClient,
    hub: KeyPair,
    mode: str,
    devices: dict[str, str] | None = None,
    sent: datetime | None = None,
    areas: dict[str, str] | None = None,
) -> None:
    """The hub's key, then its signed trust list (retained), as the integration publishes them."""
    await publish_hub_key(client, hub)
    listed: dict[str, Any] = {"mode": mode, "devices": devices or {}}
    if areas is not None:
        listed["areas"] = areas
    trust = new_message("home-assistant", "event", listed)
    if sent is not None:
        trust["timestamp"] = timestamp(sent)
    await client.publish(TRUST_TOPIC, hub.sign(TRUST_TOPIC, trust), retain=True)
    # Requests need no wait: the bridge reads its connection in order and takes the
    # key and the list as it reads them. But on meeting the hub's key first it
    # subscribes again to the topics HA signs for (to hear their retained messages
    # once more): a message not retained, sent there meanwhile, is lost. Nothing the
    # bridge sends says when that is done, so this waits (a guess, not a marker).
    await asyncio.sleep(0.3)
