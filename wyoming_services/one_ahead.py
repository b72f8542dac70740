"""An async iterator's next item made while the caller still uses the one before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib


async def one_ahead[T](source: AsyncGenerator[T]) -> AsyncGenerator[T]:
    """The items of source in order, the next one made while the caller handles this one.

    Never more than one ahead. Closed early (aclose: the caller stopped, or was
    cancelled within contextlib.aclosing), the item being made is cancelled and
    source is closed. An error of source's comes after every item made before it.
    """
    coming: asyncio.Task[T] | None = asyncio.ensure_future(anext(source))
    try:
        while coming is not None:
            try:
                item = await coming
            except StopAsyncIteration:
                coming = None
                return
            coming = asyncio.ensure_future(anext(source))
            yield item
    finally:
        if coming is not None:
            coming.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await coming
        await source.aclose()
