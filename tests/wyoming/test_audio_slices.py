"""Attack: long audio chunks heard on the event loop at once keep every other connection waiting."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info

from tests.conftest import ServerProcess

pytestmark = pytest.mark.slow

RATE = 16000
SECONDS = 29.0  # under stt_max_seconds, in one frame of under 1 MiB


def loud_noise() -> bytes:
    """29 s of noise: resampled and judged by the VAD frame by frame, like speech."""
    noise = np.random.default_rng(7).normal(0, 3000, int(SECONDS * RATE))
    return np.clip(noise, -32768, 32767).astype("<i2").tobytes()


async def described(client: AsyncClient) -> float:
    """Seconds until the server answers a describe on this connection."""
    started = time.monotonic()
    await client.write_event(Describe().event())
    while (event := await client.read_event()) is not None:
        if Info.is_type(event.type):
            return time.monotonic() - started
    raise ConnectionError("no info")


async def one_long_chunk(uri: str, pcm: bytes) -> float:
    """audio-start, one long chunk, then describe: the time the server took to hear it."""
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        chunk = AudioChunk(rate=RATE, width=2, channels=1, audio=pcm)
        started = time.monotonic()
        await client.write_event(chunk.event())
        await described(client)
        return time.monotonic() - started


async def test_a_long_chunk_leaves_the_loop_to_the_others(
    wyoming_server: ServerProcess,
) -> None:
    """A stranger's 29-s chunks: HA's describes are answered between its slices, not after it."""
    pcm, done = loud_noise(), asyncio.Event()
    waits: list[float] = []

    async def home_assistant() -> None:
        async with AsyncClient.from_uri(wyoming_server.uri) as client:
            while not done.is_set():
                waits.append(await described(client))

    watcher = asyncio.create_task(home_assistant())
    try:
        heard = [await one_long_chunk(wyoming_server.uri, pcm) for _ in range(3)]
    finally:
        done.set()
        await watcher
    # Before: each chunk held the loop for all the time it took (~0.55 s here).
    assert max(waits) < min(heard) / 3, (waits, heard)
