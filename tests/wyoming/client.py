"""A small Wyoming client for tests and benchmarks: real events over real TCP."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import time
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient, AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

CHUNK_SAMPLES = 1024


@dataclass
class TtsAudio:
    """Audio a TTS request returned, with its timing."""

    pcm: bytes
    rate: int
    first_chunk_seconds: float
    total_seconds: float
    events: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate if self.rate else 0.0


def host_port(uri: str) -> tuple[str, int]:
    host, port = uri.removeprefix("tcp://").rsplit(":", 1)
    return host, int(port)


async def describe(uri: str) -> Info:
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Describe().event())
        while (event := await client.read_event()) is not None:
            if Info.is_type(event.type):
                return Info.from_event(event)
    raise ConnectionError("no info")


async def read_until(client: AsyncTcpClient, *types: str) -> list[Event]:
    """Events up to and including the first of the given types (or an error)."""
    events: list[Event] = []
    while (event := await client.read_event()) is not None:
        events.append(event)
        if event.type in types or Error.is_type(event.type):
            return events
    return events


async def synthesize(
    uri: str,
    text: str,
    voice: str | None = None,
    stream_pieces: list[str] | None = None,
) -> TtsAudio:
    """Plain synthesize, or synthesize-start/chunk/stop when stream_pieces is given."""
    async with AsyncClient.from_uri(uri) as client:
        started = time.perf_counter()
        syn_voice = SynthesizeVoice(name=voice) if voice else None
        if stream_pieces is None:
            await client.write_event(Synthesize(text=text, voice=syn_voice).event())
            end_type = AudioStop().event().type
        else:
            await client.write_event(SynthesizeStart(voice=syn_voice).event())
            for piece in stream_pieces:
                await client.write_event(SynthesizeChunk(text=piece).event())
            await client.write_event(
                Synthesize(text="".join(stream_pieces), voice=syn_voice).event()
            )
            await client.write_event(SynthesizeStop().event())
            end_type = "synthesize-stopped"
        pcm = b""
        rate = 0
        first: float | None = None
        names: list[str] = []
        while (event := await client.read_event()) is not None:
            names.append(event.type)
            if AudioChunk.is_type(event.type):
                chunk = AudioChunk.from_event(event)
                first = first if first is not None else time.perf_counter() - started
                pcm += chunk.audio
                rate = chunk.rate
            elif AudioStart.is_type(event.type):
                rate = AudioStart.from_event(event).rate
            elif Error.is_type(event.type):
                raise RuntimeError(Error.from_event(event).text)
            if event.type == end_type:
                break
        total = time.perf_counter() - started
        return TtsAudio(pcm, rate, first if first is not None else total, total, names)


async def transcribe(
    uri: str,
    pcm: bytes,
    rate: int,
    *,
    width: int = 2,
    channels: int = 1,
    language: str | None = "en",
    realtime: bool = False,
    stream: bool = False,
) -> tuple[Event, float, list[Event]]:
    """Send audio (at once, or paced at real time); the transcript event, stop-to-result seconds, all events."""
    async with AsyncClient.from_uri(uri) as client:
        transcribe_event = Transcribe(language=language).event()
        if stream:
            transcribe_event.data["stream"] = True
        await client.write_event(transcribe_event)
        await client.write_event(
            AudioStart(rate=rate, width=width, channels=channels).event()
        )
        step = CHUNK_SAMPLES * width * channels
        began = time.perf_counter()
        for offset in range(0, len(pcm), step):
            piece = pcm[offset : offset + step]
            await client.write_event(
                AudioChunk(
                    rate=rate, width=width, channels=channels, audio=piece
                ).event()
            )
            if realtime:
                due = began + (offset + len(piece)) / (width * channels * rate)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
        stopped = time.perf_counter()
        await client.write_event(AudioStop().event())
        events = await read_until(client, Transcript(text="").event().type)
        return events[-1], time.perf_counter() - stopped, events


def alicia_stats(event: Event) -> dict[str, Any]:
    stats: dict[str, Any] = event.data["alicia"]
    return stats


# A raw connection, for tests that speak the protocol event by event.
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def next_event(streams: Streams) -> Event:
    """The next event the server sends on a raw connection (30 s at most)."""
    event = await asyncio.wait_for(async_read_event(streams[0]), 30)
    assert event is not None
    return event
