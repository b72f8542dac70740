"""Short commands with no silence around them, at any rate and channel count: never an empty transcript.

The clips are Piper's (the bundled voice, through our server), trimmed to the speech
itself, then resampled and widened to what a Wyoming client may send. Whisper is
free to mishear a word; coming back empty is the failure (the VAD used to decide
that clips too short for it held no speech, and nothing was decoded).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tests.conftest import ServerProcess, sockets_allowed
from tests.wyoming.client import synthesize, transcribe
from tests.wyoming.clips import as_format, trimmed
from tests.wyoming.phrases import normalize

COMMANDS = [
    "Stop.",
    "Lights off.",
    "Good night.",
    "This is a test.",
    "Turn on the fan.",
    "Open the blinds.",
]
# (rate, channels): what HA's satellites, phones and sound cards send.
FORMATS = [(8000, 1), (16000, 1), (22050, 1), (44100, 2), (48000, 2)]


@pytest.fixture(scope="module")
def clips(wyoming_server: ServerProcess) -> dict[str, tuple[np.ndarray, int]]:
    """Each command, spoken by the server's own TTS and trimmed."""

    async def speak_all() -> dict[str, tuple[np.ndarray, int]]:
        spoken = {}
        for text in COMMANDS:
            audio = await synthesize(wyoming_server.uri, text)
            spoken[text] = (trimmed(audio.pcm), audio.rate)
        return spoken

    # A loop of its own, as tests/conftest.py's `spoken`: the test loops stay untouched.
    loop = asyncio.new_event_loop()
    try:
        with sockets_allowed():
            return loop.run_until_complete(speak_all())
    finally:
        loop.close()


@pytest.mark.parametrize(("rate", "channels"), FORMATS)
async def test_no_short_command_comes_back_empty(
    wyoming_server: ServerProcess,
    clips: dict[str, tuple[np.ndarray, int]],
    rate: int,
    channels: int,
) -> None:
    heard = {}
    for text, (audio, piper_rate) in clips.items():
        pcm = as_format(audio, piper_rate, rate, channels)
        event, _, _ = await transcribe(wyoming_server.uri, pcm, rate, channels=channels)
        heard[text] = event.data["text"]
    assert all(heard.values()), heard
    exact = sum(normalize(text) == normalize(heard[text]) for text in COMMANDS)
    assert exact >= len(COMMANDS) - 1, heard


@pytest.mark.parametrize("gain", [0.02, 3.0], ids=["quiet", "clipped"])
async def test_quiet_and_clipped_commands_are_decoded(
    wyoming_server: ServerProcess, clips: dict[str, tuple[np.ndarray, int]], gain: float
) -> None:
    audio, piper_rate = clips["Turn on the fan."]
    pcm = as_format(audio, piper_rate, 16000, 1, gain)
    event, _, _ = await transcribe(wyoming_server.uri, pcm, 16000)
    assert normalize(event.data["text"]) == normalize("Turn on the fan.")


async def test_silence_stays_silent(wyoming_server: ServerProcess) -> None:
    event, _, _ = await transcribe(wyoming_server.uri, bytes(16000 * 2), 16000)
    assert event.data["text"] == ""
