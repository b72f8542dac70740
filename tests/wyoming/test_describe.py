"""The server answers describe with what is really installed."""

from __future__ import annotations

import asyncio

import pytest
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info

from tests.conftest import ServerProcess

from .client import describe, host_port

pytestmark = pytest.mark.slow


async def test_describe_lists_installed_programs(wyoming_server: ServerProcess) -> None:
    info = await describe(wyoming_server.uri)
    assert [asr.name for asr in info.asr] == ["Alicia (Whisper)"]
    assert info.asr[0].installed
    assert info.asr[0].models[0].name == "tiny.en"
    assert info.asr[0].models[0].languages == ["en"]
    assert info.asr[0].supports_transcript_streaming
    assert [voice.name for voice in info.tts[0].voices] == ["en_US-joe-medium"]
    assert info.tts[0].voices[0].languages == ["en-US", "en_US"]
    # What HA's voice picker shows.
    assert info.tts[0].voices[0].description == "Joe (en_US, medium)"
    assert info.tts[0].supports_synthesize_streaming


async def test_unknown_events_are_ignored(wyoming_server: ServerProcess) -> None:
    async with AsyncTcpClient(*host_port(wyoming_server.uri)) as client:
        await client.write_event(Event(type="some-future-event", data={"x": 1}))
        await client.write_event(Describe().event())
        event = await asyncio.wait_for(client.read_event(), 5)
        assert event is not None
        assert Info.is_type(event.type)


async def test_describe_is_immediate_while_models_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerProcess(log=tmp_path / "server.log")
    try:
        info = None
        loop = asyncio.get_running_loop()
        started = loop.time()
        while info is None and loop.time() - started < 20:
            try:
                info = await asyncio.wait_for(describe(server.uri), 1.0)
            except OSError:
                await asyncio.sleep(0.05)
        assert info is not None
        assert info.tts[0].voices[0].name == "en_US-joe-medium"
        # Answered before the models finished loading and warming.
        assert "Ready (wyoming" not in server.log.read_text()
    finally:
        server.stop()
