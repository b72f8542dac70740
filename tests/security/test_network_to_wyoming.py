"""Attacks on the Wyoming port from the network: each is refused with an error, and the server goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, wait_until
from tests.wyoming.client import describe, host_port

pytestmark = pytest.mark.slow
# A small cap and short deadlines, so that the attacks end quickly.
LIMITS = ("--max-connections", "4", "--idle-seconds", "1", "--frame-seconds", "1",
          "--session-seconds", "2", "--write-seconds", "1")  # fmt: skip


def start(log: Path) -> ServerProcess:
    process = ServerProcess(*LIMITS, log=log)
    process.wait_ready()
    return process


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the attacks that leave nothing behind."""
    process = start(tmp_path_factory.mktemp("wyoming") / "server.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, for attacks on the connection slots."""
    process = start(tmp_path / "server.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """These tests talk to the server on 127.0.0.1."""


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
Peer = tuple[asyncio.StreamReader, asyncio.StreamWriter]


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


async def test_idle_connections_are_closed(fresh_server: ServerProcess) -> None:
    idle = [
        await asyncio.open_connection(*host_port(fresh_server.uri)) for _ in range(2)
    ]
    try:
        for reader, _ in idle:
            error = await answer(reader)
            assert error["data"]["code"] == "timeout"
            assert "idle_seconds" in error["data"]["text"]
            assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        for _, writer in idle:
            writer.close()


async def silent(server: ServerProcess) -> Peer:
    return await asyncio.open_connection(*host_port(server.uri))


async def dripping(server: ServerProcess) -> Peer:
    reader, writer = await asyncio.open_connection(*host_port(server.uri))
    writer.write(b'{"type": "desc')  # and never the rest
    return reader, writer


async def not_reading(server: ServerProcess) -> Peer:
    reader, writer = await asyncio.open_connection(*host_port(server.uri))
    writer.write(header("describe") * 5000)  # megabytes of answers, never read
    return reader, writer


@pytest.mark.parametrize(
    ("kind", "count"),
    # Silent ones wait in a lobby of four per place, so 17 fill it; the others take places.
    [(silent, 17), (dripping, 4), (not_reading, 4)],
)
async def test_a_newcomer_is_served_while_attackers_hold_every_slot(
    fresh_server: ServerProcess,
    kind: Callable[[ServerProcess], Awaitable[Peer]],
    count: int,
) -> None:
    peers = [await kind(fresh_server) for _ in range(count)]
    try:
        assert (await describe(fresh_server.uri)).asr  # Home Assistant, say
        if kind is not not_reading:  # the first, with the least claim, made room
            error = await answer(peers[0][0])
            assert error["data"]["code"] == "too-many-connections"
            assert "closed to make room" in error["data"]["text"]
    finally:
        for _, writer in peers:
            writer.close()


async def test_a_peer_that_does_not_read_is_dropped(server: ServerProcess) -> None:
    _, writer = await not_reading(server)
    try:
        await wait_until(lambda: "it read nothing for 1 s" in server.log.read_text())
    finally:
        writer.close()


async def test_an_event_dripped_a_byte_at_a_time_is_cut_off(
    server: ServerProcess,
) -> None:
    async with connection(server) as (reader, writer):

        async def drip() -> None:
            for byte in header("describe"):
                writer.write(bytes([byte]))
                await asyncio.sleep(0.2)

        dripper = asyncio.create_task(drip())
        error = await answer(reader)
        dripper.cancel()
    assert "frame_seconds" in error["data"]["text"]


async def test_audio_trickled_for_ever_is_cut_at_session_seconds(
    server: ServerProcess,
) -> None:
    chunk = header("audio-chunk", {"rate": 16000, "width": 2, "channels": 1},
                   payload_length=2) + b"\0\0"  # fmt: skip
    async with connection(server) as (reader, writer):

        async def trickle() -> None:
            writer.write(START)
            while True:
                writer.write(chunk)
                await asyncio.sleep(0.2)

        trickler = asyncio.create_task(trickle())
        error = await answer(reader)
        trickler.cancel()
    assert "session_seconds" in error["data"]["text"]


AUDIO = {"rate": 16000, "width": 2, "channels": 1}
MISTYPED: dict[str, tuple[list[bytes], str]] = {
    "rate 16000.5": ([header("audio-start", AUDIO | {"rate": 16000.5})], "audio-start: rate"),
    "width 2.0": ([header("audio-start", AUDIO | {"width": 2.0})], "audio-start: width"),
    "channels text": ([header("audio-start", AUDIO | {"channels": "1"})], "audio-start: channels"),
    "rate true": ([header("audio-start", AUDIO | {"rate": True})], "audio-start: rate"),
    "chunk rate text": ([START, header("audio-chunk", AUDIO | {"rate": "16000"})],
                        "audio-chunk: rate"),
    "chunk of another format": ([START, header("audio-chunk", AUDIO | {"rate": 8000})],
                                "audio-chunk: rate, width and channels"),
    "language empty": ([header("transcribe", {"language": ""})], "transcribe: language"),
    "stream text": ([header("transcribe", {"stream": "yes"})], "transcribe: stream"),
    "voice list": ([header("synthesize", {"text": "Hi.", "voice": [1]})], "synthesize: voice"),
    "voice number": ([header("synthesize", {"text": "Hi.", "voice": 5})], "synthesize: voice"),
    "voice name number": ([header("synthesize", {"text": "Hi.", "voice": {"name": 5}})],
                          "synthesize: voice.name"),
    "speaker number": ([header("synthesize-start", {"voice": {"name": "x", "speaker": 3}})],
                       "synthesize-start: voice.speaker"),
    "synthesize text null": ([header("synthesize", {"text": None})], "synthesize: text"),
    "chunk text number": ([header("synthesize-start"), header("synthesize-chunk", {"text": 5})],
                          "synthesize-chunk: text"),
    "transcript text null": ([header("transcript", {"text": None})], "transcript: text"),
    "context list": ([header("transcript", {"text": "Hi", "context": []})],
                     "transcript: context"),
    "conversation id number": (
        [header("transcript", {"text": "Hi", "context": {"conversation_id": 7}})],
        "transcript: context.conversation_id",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", MISTYPED)
async def test_a_mistyped_field_is_answered_by_its_name(
    server: ServerProcess, case: str
) -> None:
    sent, field = MISTYPED[case]
    error = await refused(server, *sent)
    assert error["data"]["code"] == "bad-event"
    assert field in error["data"]["text"]


async def test_an_echoed_value_is_a_short_excerpt(server: ServerProcess) -> None:
    data = json.dumps({"language": "x" * 1_000_000}).encode()
    error = await refused(
        server, header("transcribe", data=None, data_length=len(data)), data
    )
    assert "transcribe: language" in error["data"]["text"]
    assert len(error["data"]["text"]) < 200
    assert "x" * 100 not in server.log.read_text()
