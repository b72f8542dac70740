"""Wake audio-starts on the server: no new models for each, a stranger's paced."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import time

import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe
from wyoming.wake import Detect, Detection, NotDetected

from tests.conftest import ServerProcess
from wyoming_services.budgets import MIN_START_SECONDS

from .client import host_port, read_until
from .test_wake import said

pytestmark = pytest.mark.slow

FORMAT = {"rate": 16000, "width": 2, "channels": 1}


def cpu_seconds(server: ServerProcess) -> float:
    """The server process's CPU time so far."""
    stat = Path(f"/proc/{server.process.pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_of(server: ServerProcess, events: list[Event]) -> float:
    """The server's CPU time for events sent at once by Home Assistant's address, then describe."""
    async with AsyncClient.from_uri(server.uri) as client:
        before = cpu_seconds(server)
        for event in [*events, Describe().event()]:
            await client.write_event(event)
        await read_until(client, "info")
        return cpu_seconds(server) - before


async def test_audio_starts_cost_about_what_ignored_events_do(
    wyoming_server: ServerProcess,
) -> None:
    """The attack: after one detect, each audio-start loaded all four wake models again.

    (reviewer's poc_wake_start_cost.py: 60 times the CPU of an ignored event.) Sent
    from the trusted address, so no pace hides the work.
    """
    ignored = [Event(type="nothing-known", data={"x": 1})] * 1000
    starts = [Detect().event()] + [AudioStart(**FORMAT).event()] * 1000
    await cpu_of(wyoming_server, starts)  # the connection's first load is not counted
    baseline = await cpu_of(wyoming_server, ignored)
    assert await cpu_of(wyoming_server, starts) < 4 * baseline + 0.1


async def test_a_strangers_flood_of_audio_starts_is_paced(
    wyoming_server: ServerProcess,
) -> None:
    """Each of a stranger's audio-starts counts as MIN_START_SECONDS of its audio.

    Its next event waits for them as for audio past its 2-s burst; Home Assistant's
    describe meanwhile is answered at once.
    """
    starts = 24
    reader, writer = await asyncio.open_connection(
        *host_port(wyoming_server.uri), local_addr=("127.0.0.11", 0)
    )
    try:
        sent = time.monotonic()
        for sent_event in [Detect().event()] + [AudioStart(**FORMAT).event()] * starts:
            await async_write_event(sent_event, writer)
        await async_write_event(Describe().event(), writer)
        async with AsyncClient.from_uri(wyoming_server.uri) as home:
            await home.write_event(Describe().event())
            await read_until(home, "info")
        home_answered = time.monotonic() - sent
        while (event := await async_read_event(reader)) is not None:
            if event.type == "info":
                break
        stranger_answered = time.monotonic() - sent
    finally:
        writer.close()
    least = (starts * MIN_START_SECONDS - 2) / 1.5
    assert stranger_answered > least - 0.2
    assert home_answered < least / 2


async def test_the_next_stream_on_a_connection_hears_its_word_at_once(
    wyoming_server: ServerProcess,
) -> None:
    """A satellite's second stream starts with the word: heard, not left to the first stream's quiet."""
    clip = said("flite-awb", "Okay Nabu")
    async with AsyncClient.from_uri(wyoming_server.uri) as client:
        for pcm in (clip, clip[32000:]):
            await client.write_event(Detect(names=["okay_nabu"]).event())
            await client.write_event(AudioStart(**FORMAT).event())
            for start in range(0, len(pcm), 640):
                chunk = AudioChunk(**FORMAT, audio=pcm[start : start + 640])
                await client.write_event(chunk.event())
            await client.write_event(AudioStop().event())
            (event,) = await read_until(
                client, Detection().event().type, NotDetected().event().type
            )
            assert Detection.is_type(event.type)
