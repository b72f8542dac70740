"""The server on the newest wyoming release, talking to HA's pinned 1.7.2 client."""

from __future__ import annotations

from pathlib import Path

import pytest
from wyoming.tts import SynthesizeStopped

from tests.conftest import ROOT, ServerProcess

from .client import TtsAudio, describe, synthesize, transcribe
from .phrases import normalize

NEWEST = ROOT / ".venv" / "compat" / "wyoming-newest"

pytestmark = pytest.mark.slow


async def test_newest_wyoming(tmp_path: Path, spoken: dict[str, TtsAudio]) -> None:
    assert (NEWEST / "wyoming").is_dir(), "scripts/setup installs it"
    server = ServerProcess(log=tmp_path / "server.log", env={"PYTHONPATH": str(NEWEST)})
    try:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(None, server.wait_ready)
        newest = (
            next(p.name for p in NEWEST.glob("wyoming-*.dist-info"))
            .split("-")[1]
            .removesuffix(".dist")
        )
        assert f"Ready (wyoming {newest})" in server.log.read_text()

        info = await describe(server.uri)
        assert info.asr[0].models[0].name == "tiny.en"
        audio = spoken["Start the vacuum cleaner."]
        event, _, _ = await transcribe(server.uri, audio.pcm, audio.rate)
        assert normalize(event.data["text"]) == normalize("start the vacuum cleaner")
        streamed = await synthesize(
            server.uri, "Hello there. Bye.", stream_pieces=["Hello ", "there. Bye."]
        )
        assert streamed.events[-1] == SynthesizeStopped().event().type
        assert streamed.seconds > 0.5
    finally:
        server.stop()
