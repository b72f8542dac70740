"""Attack: long audio chunks heard on the event loop at once keep every other connection waiting."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import async_read_event, async_write_event
from wyoming.info import Describe, Info

from tests.conftest import ServerProcess

from .client import host_port

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


async def tiny_chunks(uri: str, address: str, chunks: int) -> float:
    """A new connection from address: `chunks` audio-chunks of one sample; seconds to the transcript."""
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    reader, writer = await asyncio.open_connection(
        *host_port(uri), local_addr=(address, 0)
    )
    try:
        started = time.monotonic()
        await async_write_event(AudioStart(**fmt).event(), writer)
        one = AudioChunk(**fmt, audio=b"\0\0").event()
        for _ in range(chunks):
            await async_write_event(one, writer)
        await async_write_event(AudioStop().event(), writer)
        while (event := await async_read_event(reader)) is not None:
            if event.type == "transcript":
                return time.monotonic() - started
        raise ConnectionError("closed without a transcript")
    finally:
        writer.close()


async def test_a_strangers_one_sample_chunks_are_paced(
    wyoming_server: ServerProcess,
) -> None:
    """Each chunk counts as at least 10 ms of audio, paced per address as wake audio.

    Strangers' one-sample chunks on 30 connections took describe from a few ms to
    0.9 s (attack_wy2 poc_stt_tiny.py); Home Assistant's speech is not paced.
    """
    home = await tiny_chunks(wyoming_server.uri, "127.0.0.1", 500)
    stranger = await tiny_chunks(wyoming_server.uri, "127.0.0.8", 500)
    # 5 s of audio counted: past a 2-s burst, 3 s at 1.5x real time, however loaded.
    assert stranger > 3 / 1.5 - 0.2
    assert home < stranger
