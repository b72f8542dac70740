"""A connection's read deadlines on one lazily moved timer (framing.ReadClock)."""

from __future__ import annotations

import asyncio

import pytest

from wyoming_services.framing import FrameError, ReadClock, read_event

DESCRIBE = b'{"type": "describe"}\n'


async def test_an_event_dripped_after_others_is_cut_at_frame_seconds() -> None:
    """The second event of a connection gets frame seconds from its first byte, as the first."""
    reader = asyncio.StreamReader()
    clock = ReadClock(frame=0.3)
    reader.feed_data(DESCRIBE)
    assert await read_event(reader, wait=5, frame=0.3, clock=clock) is not None

    async def drip() -> None:
        for byte in DESCRIBE:
            reader.feed_data(bytes([byte]))
            await asyncio.sleep(0.1)

    dripping = asyncio.create_task(drip())
    began = asyncio.get_running_loop().time()
    with pytest.raises(FrameError, match="frame_seconds"):
        await read_event(reader, wait=5, frame=0.3, clock=clock)
    assert asyncio.get_running_loop().time() - began < 1.0
    dripping.cancel()
    clock.close()


async def test_nothing_begun_by_the_deadline_is_a_timeout() -> None:
    reader = asyncio.StreamReader()
    clock = ReadClock(frame=10)
    with pytest.raises(TimeoutError):
        await read_event(reader, wait=0.2, clock=clock)
    clock.close()


async def test_the_clock_never_cuts_the_work_between_reads() -> None:
    """Past a read's deadline while the handler works on the event, nothing is cancelled."""
    reader = asyncio.StreamReader()
    clock = ReadClock(frame=0.1)
    reader.feed_data(DESCRIBE)
    assert await read_event(reader, wait=0.1, frame=0.1, clock=clock) is not None
    await asyncio.sleep(0.4)  # the work on the event
    reader.feed_data(DESCRIBE)
    assert await read_event(reader, wait=1, frame=0.1, clock=clock) is not None
    clock.close()


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    """Shutting a connection down is not turned into a timeout."""
    reader = asyncio.StreamReader()

    async def read() -> None:
        clock = ReadClock(frame=10)
        try:
            await read_event(reader, wait=10, clock=clock)
        finally:
            clock.close()

    task = asyncio.create_task(read())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_stream_of_events_makes_no_timer_per_event() -> None:
    """Fifty events a second: the clock's one timer is kept, not replaced each time."""
    reader = asyncio.StreamReader()
    clock = ReadClock(frame=10)
    loop = asyncio.get_running_loop()
    made = 0
    real_call_at = loop.call_at

    def counting(*args: object, **kwargs: object) -> asyncio.TimerHandle:
        nonlocal made
        made += 1
        return real_call_at(*args, **kwargs)  # type: ignore[arg-type]

    loop.call_at = counting  # type: ignore[method-assign]
    try:
        for _ in range(100):
            reader.feed_data(DESCRIBE)
            assert await read_event(reader, wait=120, clock=clock) is not None
    finally:
        loop.call_at = real_call_at  # type: ignore[method-assign]
        clock.close()
    assert made <= 1
