"""The server on the oldest wyoming release it supports, talking to the newest client."""

from __future__ import annotations

from pathlib import Path

import pytest
from wyoming.tts import SynthesizeStopped

from tests.conftest import ROOT, ServerProcess

from .client import TtsAudio, describe, synthesize, transcribe
from .phrases import normalize

OLDEST = ROOT / ".venv" / "compat" / "wyoming-oldest"

pytestmark = pytest.mark.slow


async def test_oldest_wyoming(tmp_path: Path, spoken: dict[str, TtsAudio]) -> None:
    assert (OLDEST / "wyoming").is_dir(), "scripts/setup installs it"
    server = ServerProcess(log=tmp_path / "server.log", env={"PYTHONPATH": str(OLDEST)})
    try:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(None, server.wait_ready)
        oldest = (
            next(p.name for p in OLDEST.glob("wyoming-*.dist-info"))
            .split("-")[1]
            .removesuffix(".dist")
        )
        assert f"Ready (wyoming {oldest})" in server.log.read_text()

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
