"""Speech streamed live to the server, as a satellite streams it, until it ends the turn."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event

from .client import synthesize
from .clips import as_format, trimmed
from .voices import speak

RATE = 16000
CHUNK = RATE // 50  # 20 ms, as satellites send
# Sent a little faster than spoken (still live to the server), to keep the tests short.
SPEED = 1.5


async def clip(uri: str, voice: str, text: str) -> np.ndarray:
    """The text spoken, trimmed, as 16 kHz float samples."""
    if voice == "piper":
        spoken = await synthesize(uri, text)
        pcm, rate = spoken.pcm, spoken.rate
    else:
        pcm, rate = await asyncio.to_thread(speak, voice, text)
    return np.frombuffer(as_format(trimmed(pcm), rate, RATE, 1), dtype="<i2")


async def stream_live(uri: str, pcm: bytes) -> tuple[Event, float]:
    """Stream live until the server ends the turn: the transcript event and when, in audio seconds."""
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
        return event, heard_at


async def stream_until_transcript(uri: str, pcm: bytes) -> tuple[str, float]:
    """Stream live until the server ends the turn: the transcript and when, in audio seconds."""
    event, heard_at = await stream_live(uri, pcm)
    return str(event.data["text"]), heard_at


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
