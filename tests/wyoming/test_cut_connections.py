"""A connection cut by its peer is a normal end: a line in the log, no traceback, the server goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import socket
import struct

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart

from tests.conftest import ServerProcess, wait_until

from .client import describe, host_port

pytestmark = pytest.mark.slow
LONG = "The quick brown fox jumps over the lazy dog. " * 40
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own, so its log holds only these cuts."""
    process = ServerProcess(log=tmp_path_factory.mktemp("cut") / "server.log")
    process.wait_ready()
    try:
        yield process
    finally:
        process.stop()


async def first_audio(streams: Streams, *sent: Event) -> None:
    reader, writer = streams
    for event in sent:
        await async_write_event(event, writer)
    while (received := await async_read_event(reader)) is not None:
        if AudioChunk.is_type(received.type):
            return


async def while_speaking(streams: Streams) -> None:
    await first_audio(streams, Synthesize(text=LONG).event())


async def while_streaming_speech(streams: Streams) -> None:
    await first_audio(
        streams, SynthesizeStart().event(), SynthesizeChunk(text=LONG).event()
    )


async def mid_event(streams: Streams) -> None:
    streams[1].write(b'{"type": "synthesize", "data": {"text": "He')
    await streams[1].drain()


async def while_listening(streams: Streams) -> None:
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    await async_write_event(AudioStart(**fmt).event(), streams[1])
    for _ in range(5):
        await async_write_event(
            AudioChunk(audio=bytes(3200), **fmt).event(), streams[1]
        )


@pytest.mark.parametrize(
    "before_the_cut",
    [while_speaking, while_streaming_speech, mid_event, while_listening],
)
async def test_a_cut_connection_is_one_line_without_a_traceback(
    server: ServerProcess, before_the_cut: Callable[[Streams], Awaitable[None]]
) -> None:
    cuts = server.log.read_text().count("cut the connection")
    streams = await asyncio.open_connection(*host_port(server.uri))
    await before_the_cut(streams)
    sock = streams[1].get_extra_info("socket")
    # Linger 0: the close is a reset, as when a client crashes or its network drops.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    streams[1].transport.abort()
    await wait_until(lambda: server.log.read_text().count("cut the connection") > cuts)
    assert (await describe(server.uri)).tts  # the server goes on
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "exception" not in log.lower()
