"""Attacks on the Wyoming port from the network: each is refused with an error, and the server goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.wyoming.client import describe, host_port

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, socket_enabled: None) -> Iterator[ServerProcess]:
    """The server with a small connection cap and a short idle timeout."""
    process = ServerProcess(
        "--max-connections", "4", "--idle-seconds", "1", log=tmp_path / "server.log"
    )
    process.wait_ready()
    try:
        yield process
    finally:
        process.stop()


@asynccontextmanager
async def connection(
    server: ServerProcess,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection(*host_port(server.uri))
    try:
        yield reader, writer
    finally:
        writer.close()


def header(kind: str, data: dict[str, Any] | None = None, **extra: Any) -> bytes:
    event: dict[str, Any] = {"type": kind, **extra}
    if data is not None:
        event["data"] = data
    return json.dumps(event).encode() + b"\n"


async def answer(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The server's next event header, with its data merged in."""
    line = await asyncio.wait_for(reader.readline(), 10)
    event: dict[str, Any] = json.loads(line)
    if length := event.get("data_length"):
        event.setdefault("data", {}).update(
            json.loads(await reader.readexactly(length))
        )
    return event


async def refused(server: ServerProcess, *sent: bytes) -> dict[str, Any]:
    async with connection(server) as (reader, writer):
        for chunk in sent:
            writer.write(chunk)
        await writer.drain()
        error = await answer(reader)
        assert await asyncio.wait_for(reader.read(), 10) == b""  # then closed
    return error


START = header("audio-start", {"rate": 16000, "width": 2, "channels": 1})


@pytest.mark.parametrize(
    "sent",
    [
        [header("audio-start", {"width": 2, "channels": 1})],  # no rate
        [header("audio-start", {"rate": "x", "width": 2, "channels": 1})],
        [header("synthesize", {"text": 123})],
        [header("synthesize", data=None, data_length=3), b"[1]"],
        [header("transcribe", {"language": 5})],
        [header("transcript")],  # no text
        [b"[1, 2, 3]\n"],  # not an object
        [
            b'{"type": "describe", "data": '
            + b'{"a": ' * 100
            + b"1"
            + b"}" * 101
            + b"\n"
        ],
        [b"not json\n"],
    ],
)
async def test_malformed_events_are_answered_with_an_error(
    server: ServerProcess, sent: list[bytes]
) -> None:
    error = await refused(server, *sent)
    assert error["type"] == "error"
    assert error["data"]["text"]
    assert (await describe(server.uri)).asr  # the server goes on


async def test_a_huge_chunk_is_refused_by_its_size_before_any_work(
    server: ServerProcess,
) -> None:
    claimed = 32 * 1024 * 1024
    error = await refused(
        server, START, header("audio-chunk", {"rate": 16000, "width": 2, "channels": 1},
                              payload_length=claimed),
    )  # fmt: skip
    assert error["data"]["code"] == "bad-event"


async def test_audio_over_the_limit_is_refused_before_it_is_converted(
    server: ServerProcess,
) -> None:
    # 31 s of 48 kHz stereo in one (allowed-size) chunk series: refused by length.
    chunk = bytes(48000 * 4 // 2)  # 0.5 s
    async with connection(server) as (reader, writer):
        writer.write(header("audio-start", {"rate": 48000, "width": 2, "channels": 2}))
        for _ in range(62):
            writer.write(header("audio-chunk", {"rate": 48000, "width": 2, "channels": 2},
                                payload_length=len(chunk)) + chunk)  # fmt: skip
        await writer.drain()
        error = await answer(reader)
    assert error["type"] == "error"
    assert "limit" in error["data"]["text"]


async def test_a_2_gib_claim_does_not_make_the_server_buffer_it(
    server: ServerProcess,
) -> None:
    error = await refused(server, header("synthesize", data=None, data_length=2**31))
    assert error["data"]["code"] == "bad-event"
    assert (await describe(server.uri)).tts


async def test_connections_are_capped_and_idle_ones_closed(
    server: ServerProcess,
) -> None:
    idle = [await asyncio.open_connection(*host_port(server.uri)) for _ in range(4)]
    try:
        error = await refused(server)  # the fifth, while four are open
        assert error["data"]["code"] == "too-many-connections"
        # Idle connections are closed after idle_seconds (1 s here) ...
        for reader, _ in idle:
            assert (await answer(reader))["data"]["code"] == "bad-event"
            assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        for _, writer in idle:
            writer.close()
    await asyncio.sleep(0.2)
    assert (await describe(server.uri)).asr  # ... and their places are free again
