"""A Piper run's audio passed from its thread to the event loop, window by window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import numpy as np

from .audio import Float32Array


class RunParts:
    """The windows a run's thread delivers, in order, then its end."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Nothing delivered yet; loop is the one reading the parts."""
        self._loop = loop
        self._queue: asyncio.Queue[Float32Array | None] = asyncio.Queue()

    def deliver(self, part: Float32Array) -> None:
        """A window's audio (from the run's thread)."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, part)

    def end(self) -> None:
        """The run is over (from any thread): after every part it delivered."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def __aiter__(self) -> AsyncIterator[Float32Array]:
        """The parts until the end; those already waiting come as one.

        A reader slower than the run takes the rest of it in one piece, so the run
        is over by its next read and the next one (one_ahead) can start then.
        """
        while (part := await self._queue.get()) is not None:
            waiting = [part]
            ended = False
            while not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    ended = True
                    break
                waiting.append(more)
            yield waiting[0] if len(waiting) == 1 else np.concatenate(waiting)
            if ended:
                return


async def given(audio: Float32Array) -> AsyncGenerator[Float32Array]:
    """Audio made before (the spoken cache), as a run's only part."""
    yield audio
