"""The server ends a spoken turn itself, and never inside a command's pause."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient

from tests.conftest import ServerProcess

from .client import synthesize, transcribe
from .clips import as_format, trimmed
from .phrases import normalize
from .voices import speak

pytestmark = pytest.mark.slow
RATE = 16000
CHUNK = RATE // 50  # 20 ms, as satellites send
# Sent a little faster than spoken (still live to the server), to keep the test short.
SPEED = 1.5
# Commands and questions with the pause where people look for the word, and how
# long. A first half that is a whole question ("Is it going to rain?") ends the turn
# after 0.7 s (bench/turn_end.py measures which pauses that clips).
PAUSED = [
    (("Turn on the", "kitchen light."), 0.9),
    (("Set the thermostat to", "21 degrees."), 0.9),
    (("Open the", "garage door."), 0.9),
    (("How many people live in", "Canada?"), 0.9),
    (("Is it going to rain", "this weekend?"), 0.4),
]


async def clip(uri: str, voice: str, text: str) -> np.ndarray:
    """The text spoken, trimmed, as 16 kHz float samples."""
    if voice == "piper":
        spoken = await synthesize(uri, text)
        pcm, rate = spoken.pcm, spoken.rate
    else:
        pcm, rate = await asyncio.to_thread(speak, voice, text)
    return np.frombuffer(as_format(trimmed(pcm), rate, RATE, 1), dtype="<i2")


async def paused_command(
    uri: str, voice: str, parts: tuple[str, str], pause: float
) -> bytes:
    """Quiet, the first part, a pause, the rest, then quiet as long as a satellite streams."""
    first, rest = await clip(uri, voice, parts[0]), await clip(uri, voice, parts[1])
    quiet = np.zeros(int(pause * RATE), dtype="<i2")
    # A long tail: the server ends the turn early; on a loaded machine (CI's test
    # processes on two cores) a decode may take seconds.
    lead, tail = np.zeros(RATE // 2, dtype="<i2"), np.zeros(12 * RATE, dtype="<i2")
    return bytes(np.concatenate((lead, first, quiet, rest, tail)).tobytes())


async def stream_until_transcript(uri: str, pcm: bytes) -> tuple[str, float]:
    """Stream live until the server ends the turn: the transcript and when, in audio seconds."""
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        sent = 0
        reading = asyncio.ensure_future(client.read_event())
        began = time.perf_counter()
        while sent < len(pcm) and not reading.done():
            piece = pcm[sent : sent + CHUNK * 2]
            await client.write_event(
                AudioChunk(rate=RATE, width=2, channels=1, audio=piece).event()
            )
            sent += len(piece)
            due = began + sent / 2 / RATE / SPEED
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        heard_at = sent / 2 / RATE
        if not reading.done():
            await client.write_event(AudioStop().event())
        event = await asyncio.wait_for(reading, 30)
        assert event is not None
        assert Transcript.is_type(event.type), event
        return str(event.data["text"]), heard_at


@pytest.mark.parametrize("voice", ["piper", "espeak-ng", "flite-slt"])
async def test_a_pause_inside_a_command_does_not_end_the_turn(
    wyoming_server: ServerProcess, voice: str
) -> None:
    for parts, pause in PAUSED:
        pcm = await paused_command(wyoming_server.uri, voice, parts, pause)
        text, heard_at = await stream_until_transcript(wyoming_server.uri, pcm)
        # Ended by the server, before the satellite's quiet ran out ...
        assert heard_at < len(pcm) / 2 / RATE
        # ... and not inside the pause: what the whole recording, sent at once and
        # ended by the client, is heard as.
        whole, _, _ = await transcribe(wyoming_server.uri, pcm, RATE)
        assert normalize(text) == normalize(str(whole.data["text"])), (voice, parts)
        assert len(normalize(text)) > len(normalize(parts[0])), (voice, parts, text)
