"""Bus guests hold at most a bounded share of the bridge's bytes, and cancelling them at a stop is clean."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiomqtt
import pytest

from alicia_bus.answers import SttAnswer
from alicia_bus.envelope import Envelope, new_message
from alicia_bus.topics import Kind
from tests.security.bridge_unit import DEVICE, driven
from wyoming_services.authority import Authority
from wyoming_services.bridge import tasks
from wyoming_services.bridge.inbox import read
from wyoming_services.bridge.slots import MAX_GUEST_BYTES, Busy, Slots
from wyoming_services.bridge.tasks import TaskPool

STT = "alicia/voice/stt/request"
# Padded JSON under the audio request's 4 MiB limit: few of them fill megabytes.
BIG = "A" * (3 * 1024 * 1024)


class SilentClient:
    """A connection on which HA says nothing: only the request lane is read."""

    @property
    def messages(self) -> AsyncIterator[None]:
        """Never a message."""

        async def never() -> AsyncIterator[None]:
            await asyncio.Event().wait()
            yield None

        return never()


def delivered(message: dict[str, Any]) -> aiomqtt.Message:
    """A request as aiomqtt hands it over."""
    raw = json.dumps(message).encode()
    return cast(aiomqtt.Message, SimpleNamespace(topic=STT, payload=raw, retain=False))


async def test_guests_big_requests_leave_an_approved_device_served(
    tmp_path: Path,
) -> None:
    """14 guests' 3 MiB speech requests (slow to serve) do not keep the device's request out of the pool."""
    bus = driven(tmp_path, bridge_max_concurrent=4)
    bridge = bus.bridge
    release = asyncio.Event()
    served: list[str] = []

    async def slow_stt(request: Envelope, authority: Authority) -> SttAnswer:
        served.append(request.source)
        if not authority.may_act:
            await release.wait()
        return SttAnswer("hi", "en")

    bridge.requests.handlers[Kind.STT_REQUEST] = slow_stt
    reading = asyncio.create_task(
        read(SilentClient(), bridge._requests, bridge._pool, bridge._on_message)  # type: ignore[arg-type]
    )
    try:
        for i in range(14):
            await asyncio.sleep(0.02)
            audio = {"audio": {"format": "wav", "data": BIG}}
            bridge._requests.offer(
                delivered(new_message(f"guest{i}", "request", audio))
            )
        tiny = {"audio": {"format": "wav", "data": "UklGRg=="}}
        device = new_message("kitchen_satellite", "request", tiny)
        bridge._requests.offer(delivered(DEVICE.sign(STT, device)))
        for _ in range(100):
            if "kitchen_satellite" in served:
                break
            await asyncio.sleep(0.01)
        assert "kitchen_satellite" in served
        assert bridge.answering.slots.guest_bytes <= MAX_GUEST_BYTES
        busy = [
            m["payload"] for m in bus.on("alicia/voice/stt/response")
            if "busy" in m["payload"].get("error", {}).get("message", "")
        ]  # fmt: skip
        assert busy
        assert bridge.counters.dropped_requests == len(busy)
    finally:
        release.set()
        reading.cancel()
        await bridge._pool.cancel()


async def test_guests_bytes_in_hand_are_bounded() -> None:
    """Past MAX_GUEST_BYTES waiting or served, a guest is told busy before any wait; an approved device never."""
    slots = Slots(2)  # one guest served at a time
    release = asyncio.Event()
    half = MAX_GUEST_BYTES // 2

    async def request(may_act: bool, size: int) -> None:
        async with slots.hold(may_act, size):
            await release.wait()

    served = asyncio.create_task(request(False, half))
    waiting = asyncio.create_task(request(False, half))
    await asyncio.sleep(0.01)
    assert slots.guest_bytes == MAX_GUEST_BYTES
    with pytest.raises(Busy, match="bytes"):
        async with slots.hold(False, 1):
            pass
    device = asyncio.create_task(request(True, MAX_GUEST_BYTES))
    await asyncio.sleep(0.01)
    assert not device.done()  # in a slot, not refused
    waiting.cancel()  # its bytes are given back, as when the bridge stops
    await asyncio.gather(waiting, return_exceptions=True)
    assert slots.guest_bytes == half
    release.set()
    await asyncio.gather(served, device)
    assert slots.guest_bytes == 0
    async with slots.hold(False, MAX_GUEST_BYTES):
        assert slots.guest_bytes == MAX_GUEST_BYTES


async def test_guests_waiting_give_way_when_the_pool_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reader needs room for the next request (maybe a device's): a guest waiting is told busy, not waited for."""
    monkeypatch.setattr(tasks, "MAX_PENDING_BYTES", 100)
    slots, pool = Slots(2), TaskPool()  # one guest served at a time
    pool.shed = slots.shed
    release = asyncio.Event()
    outcomes: list[str] = []

    async def request(may_act: bool, size: int) -> None:
        try:
            async with slots.hold(may_act, size):
                await release.wait()
        except Busy:
            outcomes.append("busy")
            return
        outcomes.append("served")

    for may_act in (False, False, True):  # a guest served, one waiting, a device
        pool.spawn(request(may_act, 30), 30)
    await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(pool.room(30), 1.0)
        assert outcomes == ["busy"]
        assert slots.guest_bytes == 30
    finally:
        release.set()
        await asyncio.wait(pool.tasks)
    assert outcomes == ["busy", "served", "served"]


async def test_cancelling_waiting_guests_at_a_stop_is_clean() -> None:
    """Guests waiting, cancelled all at once (the pool at a stop): each ends cancelled, the slots all free."""
    slots = Slots(2)  # one guest served at a time
    release = asyncio.Event()

    async def guest() -> None:
        async with slots.hold(False):
            await release.wait()

    tasks = [asyncio.create_task(guest()) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert slots.guests_waiting == 4
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r) for r in results] == [asyncio.CancelledError] * 5
    assert (slots._acting, slots._guests, slots.guests_waiting) == (0, 0, 0)
    # All of them again: the slots still serve.
    async with slots.hold(False), slots.hold(True):
        assert (slots._acting, slots._guests) == (1, 1)
