"""At the connection cap, strangers never close Home Assistant's connections, nor hold every place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import io
import json
from pathlib import Path
import socket
import struct

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import async_write_event, write_event
from wyoming.info import Describe
from wyoming.tts import Synthesize

from tests.conftest import ServerProcess, wait_until
from tests.fake_xai import FakeXai

from .client import Streams, host_port, next_event

pytestmark = pytest.mark.slow
HOME = "127.0.0.1"  # in the default wyoming_trusted_clients
LONG = "The quick brown fox jumps over the lazy dog. " * 2000  # minutes of Piper
FMT = {"rate": 16000, "width": 2, "channels": 1}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of six places."""
    process = ServerProcess("--max-connections", "6", log=tmp_path / "server.log")
    process.wait_ready()
    try:
        yield process
    finally:
        process.stop()


async def counted(server: ServerProcess, address: str) -> Streams:
    """A connection from address that has taken its place (its describe answered)."""
    streams = await asyncio.open_connection(
        *host_port(server.uri), local_addr=(address, 0)
    )
    await async_write_event(Describe().event(), streams[1])
    assert (await next_event(streams)).type == "info"
    return streams


async def at_work(server: ServerProcess, address: str) -> Streams:
    """A stranger's long synthesize, begun (audio-start) and queued behind Piper."""
    streams = await counted(server, address)
    await async_write_event(Synthesize(text=LONG).event(), streams[1])
    assert (await next_event(streams)).type == "audio-start"
    return streams


async def test_strangers_at_work_never_close_home_assistants_stream(
    server: ServerProcess,
) -> None:
    """HA's stream mid-utterance survives a newcomer while strangers at work fill every place."""
    strangers = [await at_work(server, f"127.0.0.{2 + n // 2}") for n in range(6)]
    home = await counted(server, HOME)
    for event in (Transcribe().event(), AudioStart(**FMT).event()):
        await async_write_event(event, home[1])
    for _ in range(5):
        await async_write_event(AudioChunk(audio=bytes(3200), **FMT).event(), home[1])
    strangers.append(await counted(server, "127.0.0.5"))  # one more stranger
    for _ in range(5):
        await async_write_event(AudioChunk(audio=bytes(3200), **FMT).event(), home[1])
    await async_write_event(AudioStop().event(), home[1])
    while (event := await next_event(home)).type == "transcript-start":
        pass
    assert Transcript.is_type(event.type), event.data
    for _, writer in [*strangers, home]:
        writer.close()


async def test_a_stranger_is_refused_when_every_place_is_home_assistants(
    server: ServerProcess,
) -> None:
    """The stranger is told too-many-connections; HA's six connections all stay."""
    home = [await counted(server, HOME) for _ in range(6)]
    stranger = await asyncio.open_connection(
        *host_port(server.uri), local_addr=("127.0.0.2", 0)
    )
    await async_write_event(Describe().event(), stranger[1])
    error = await next_event(stranger)
    assert (error.data or {}).get("code") == "too-many-connections"
    assert "trusted" in (error.data or {})["text"]
    for streams in home:
        await async_write_event(Describe().event(), streams[1])
        assert (await next_event(streams)).type == "info"
    for _, writer in [*home, stranger]:
        writer.close()


async def test_one_address_holds_at_most_its_share(server: ServerProcess) -> None:
    """A stranger's fifth connection closes its own first, with places still free."""
    own = [await counted(server, "127.0.0.2") for _ in range(5)]
    error = await next_event(own[0])
    assert (error.data or {}).get("code") == "too-many-connections"
    assert "its address held 4" in (error.data or {})["text"]
    for _, writer in own:
        writer.close()


async def test_a_client_that_hangs_up_is_let_go_while_its_answer_is_awaited(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    """The question is given up when the asker hangs up, not when the answer is written."""
    xai.configure(first_token_delay=5)
    _, writer = await asyncio.open_connection(*host_port(grok_server.uri))
    await async_write_event(Transcript(text="Still there?").event(), writer)
    await wait_until(lambda: len(xai.requests()) == 1)
    writer.close()
    await wait_until(lambda: "hung up while its request" in grok_server.log.read_text())


async def asked_then(
    grok_server: ServerProcess, xai: FakeXai, send: bytes
) -> socket.socket:
    """A question from HA's address, then `send`; once xAI is asked, the socket."""
    xai.configure(first_token_delay=3)
    sock = socket.create_connection(host_port(grok_server.uri))
    question = io.BytesIO()
    write_event(Transcript(text="Still there?").event(), question)
    sock.sendall(question.getvalue() + send)
    await wait_until(lambda: len(xai.requests()) == 1)
    return sock


@pytest.mark.parametrize("how", ["stray byte", "reset"])
async def test_a_client_gone_with_a_stray_byte_or_a_reset_is_let_go(
    grok_server: ServerProcess, xai: FakeXai, how: str
) -> None:
    """Gone with a byte left unread (EOF is not at_eof) or by a reset, it is let go too.

    Queued decodes of such clients still ran (attack_wy2 poc_ghost.py).
    """
    before = grok_server.log.read_text().count("hung up while its request")
    sock = await asked_then(grok_server, xai, b"x" if how == "stray byte" else b"")
    if how == "reset":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    await wait_until(
        lambda: grok_server.log.read_text().count("hung up while its request") > before,
        limit=2.5,  # before the answer (3 s), whose write would tell
    )


async def test_a_client_that_half_closes_gets_its_answer(
    grok_server: ServerProcess, xai: FakeXai
) -> None:
    """nc -N, socat and scripts shut their sending side down and read the answer."""
    sock = await asked_then(grok_server, xai, b"")
    sock.shutdown(socket.SHUT_WR)
    received = b""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    async with asyncio.timeout(15):
        while chunk := await loop.sock_recv(sock, 65536):
            received += chunk
    sock.close()
    # Headers and data are lines of JSON; the headers are the ones with a type.
    lines = [json.loads(line) for line in received.splitlines() if line[:1] == b"{"]
    assert "handled" in [line.get("type") for line in lines], received[:300]
