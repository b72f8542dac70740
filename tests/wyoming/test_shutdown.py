"""SIGTERM while a client is being served: the answer completes, new clients are refused, exit 0."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from wyoming.client import AsyncTcpClient
from wyoming.tts import Synthesize

from tests.conftest import ServerProcess
from tests.wyoming.client import describe

pytestmark = pytest.mark.slow

# Long enough to be in flight at SIGTERM (audio-start comes before the synthesis) and
# for well over ten chunks; short enough to end within the server's grace (5 s) when
# the tests' other processes share the two cores (twelve sentences did not).
LONG_TEXT = " ".join(["The quick brown fox jumps over the lazy dog."] * 4)


async def test_synthesis_in_flight_at_sigterm_completes(tmp_path: Path) -> None:
    server = ServerProcess(log=tmp_path / "server.log")
    try:
        await asyncio.to_thread(server.wait_ready)
        host, port = server.uri.removeprefix("tcp://").split(":")
        async with AsyncTcpClient(host, int(port)) as client:
            await client.write_event(Synthesize(text=LONG_TEXT).event())
            first = await client.read_event()
            assert first is not None
            assert first.type == "audio-start"
            server.process.terminate()
            types = []
            while (
                event := await asyncio.wait_for(client.read_event(), 10)
            ) is not None:
                types.append(event.type)
                if event.type == "audio-stop":
                    break
        assert types[-1] == "audio-stop"
        assert types.count("audio-chunk") > 10
        assert await asyncio.to_thread(server.process.wait, 10) == 0
        try:
            await describe(server.uri)
            refused = False
        except OSError:
            refused = True
        assert refused
        assert "Stopped" in server.log.read_text()
    finally:
        server.stop()


async def test_requests_of_clients_that_left_end_quietly_at_sigterm(
    tmp_path: Path,
) -> None:
    """Queued syntheses of clients already gone are cancelled at SIGTERM, no traceback."""
    server = ServerProcess(log=tmp_path / "server.log")
    try:
        await asyncio.to_thread(server.wait_ready)
        host, port = server.uri.removeprefix("tcp://").split(":")
        for _ in range(12):
            async with AsyncTcpClient(host, int(port)) as client:
                await client.write_event(Synthesize(text=LONG_TEXT * 4).event())
                await client.read_event()  # audio-start: the request is queued
        server.process.terminate()
        assert await asyncio.to_thread(server.process.wait, 30) == 0
        log = server.log.read_text()
        assert "Stopped" in log
        assert "Traceback" not in log
        assert " ERROR " not in log
    finally:
        server.stop()
