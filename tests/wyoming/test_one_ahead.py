"""The next item made while the caller uses the one before (TTS runs while audio is sent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib

import pytest

from wyoming_services.one_ahead import one_ahead


class Source:
    """Items 0..count-1, each taking a moment; what was started, ended and cancelled."""

    def __init__(
        self, count: int, fail_after: int | None = None, seconds: float = 0.01
    ) -> None:
        """count items of seconds each; fail_after: raise once that many were made."""
        self.count = count
        self.seconds = seconds
        self.fail_after = fail_after
        self.started: list[int] = []
        self.cancelled = False
        self.closed = False

    async def items(self) -> AsyncGenerator[int]:
        """The items, as a synthesis makes its runs."""
        try:
            for item in range(self.count):
                if item == self.fail_after:
                    raise ValueError("Piper failed")
                self.started.append(item)
                try:
                    await asyncio.sleep(self.seconds)
                except asyncio.CancelledError:
                    self.cancelled = True
                    raise
                yield item
        finally:
            self.closed = True


async def test_the_next_item_is_made_while_the_caller_uses_this_one() -> None:
    source = Source(3)
    got: list[int] = []
    async for item in one_ahead(source.items()):
        await asyncio.sleep(0.05)  # sending the item's audio
        # The next one was started meanwhile, and none after it.
        assert source.started == list(range(min(item + 2, 3)))
        got.append(item)
    assert got == [0, 1, 2]
    assert source.closed


async def test_a_caller_that_stops_cancels_the_item_being_made() -> None:
    source = Source(5, seconds=0.5)
    ahead = one_ahead(source.items())
    async for item in ahead:
        assert item == 0
        await asyncio.sleep(0.05)  # its audio sent, the client leaves
        break
    await ahead.aclose()
    assert source.started == [0, 1]
    assert source.cancelled
    assert source.closed


async def test_a_cancelled_caller_cancels_the_item_being_made() -> None:
    source = Source(5, seconds=0.5)
    holding = asyncio.Event()

    async def listen() -> None:
        async with contextlib.aclosing(one_ahead(source.items())) as ahead:
            async for _ in ahead:
                holding.set()
                await asyncio.sleep(10)

    task = asyncio.create_task(listen())
    await holding.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.started == [0, 1]
    assert source.cancelled
    assert source.closed


async def test_an_error_comes_after_every_item_made_before_it() -> None:
    source = Source(5, fail_after=2)
    got: list[int] = []

    async def take_all() -> None:
        async for item in one_ahead(source.items()):
            got.append(item)

    with pytest.raises(ValueError, match="Piper failed"):
        await take_all()
    assert got == [0, 1]
    assert source.closed


async def test_an_empty_source_gives_nothing() -> None:
    source = Source(0)
    assert [item async for item in one_ahead(source.items())] == []
    assert source.closed
