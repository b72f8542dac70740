"""Bus guests waiting for a slot, cancelled all at once when the bridge stops, end cleanly."""

from __future__ import annotations

import asyncio

from wyoming_services.bridge.slots import Slots


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
