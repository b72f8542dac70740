"""Text-to-speech through the real server, with the bundled Joe voice."""

from __future__ import annotations

import asyncio

import pytest
from wyoming.audio import AudioChunk
from wyoming.client import AsyncTcpClient
from wyoming.tts import Synthesize

from tests.conftest import ServerProcess

from .client import host_port, synthesize, transcribe
from .phrases import normalize

pytestmark = pytest.mark.slow

REPLY = (
    "The living room is at twenty one degrees, the kitchen is a little warmer, "
    "and the bedroom window has been open since this morning, so it is cooler there. "
    "Shall I close it? I can also turn on the heating."
)


async def test_plain_synthesize(wyoming_server: ServerProcess) -> None:
    audio = await synthesize(wyoming_server.uri, "Turn on the kitchen light.")
    assert audio.rate == 22050
    assert 0.8 < audio.seconds < 3.0
    assert audio.events[0] == "audio-start"
    assert audio.events[-1] == "audio-stop"
    event, _, _ = await transcribe(wyoming_server.uri, audio.pcm, audio.rate)
    assert normalize(event.data["text"]) == normalize("turn on the kitchen light")


async def test_streaming_sends_audio_per_sentence(
    wyoming_server: ServerProcess,
) -> None:
    pieces = [REPLY[i : i + 7] for i in range(0, len(REPLY), 7)]
    streamed = await synthesize(wyoming_server.uri, REPLY, stream_pieces=pieces)
    assert streamed.events[-2:] == ["audio-stop", "synthesize-stopped"]
    assert streamed.events.count("audio-start") == 1
    assert streamed.events.count("audio-stop") == 1
    # The compatibility 'synthesize' inside the stream is not spoken a second time.
    plain = await synthesize(wyoming_server.uri, REPLY)
    assert abs(streamed.seconds - plain.seconds) < 0.1 * plain.seconds
    # The long first sentence is cut at a clause: audio starts well before the end.
    assert streamed.first_chunk_seconds < 0.5 * streamed.total_seconds
    assert plain.first_chunk_seconds < 0.5 * plain.total_seconds


@pytest.mark.parametrize("stream", [False, True])
async def test_empty_text_is_an_empty_stream(
    wyoming_server: ServerProcess, stream: bool
) -> None:
    audio = await synthesize(
        wyoming_server.uri, "", stream_pieces=[""] if stream else None
    )
    assert audio.pcm == b""
    assert "audio-start" in audio.events
    assert "audio-stop" in audio.events


async def test_ten_thousand_characters_streamed(wyoming_server: ServerProcess) -> None:
    sentence = "The quick brown fox jumps over the lazy dog. "
    text = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    pieces = [text[i : i + 50] for i in range(0, len(text), 50)]
    audio = await synthesize(wyoming_server.uri, text, stream_pieces=pieces)
    assert audio.events[-1] == "synthesize-stopped"
    # About 220 sentences of ~2.5 s each.
    assert audio.seconds > 400


async def test_unpunctuated_stream_is_spoken_in_bounded_pieces(
    wyoming_server: ServerProcess,
) -> None:
    text = "and then " * 200
    audio = await synthesize(
        wyoming_server.uri,
        text,
        stream_pieces=[text[i : i + 9] for i in range(0, len(text), 9)],
    )
    assert audio.events[-1] == "synthesize-stopped"
    assert audio.seconds > 30


async def test_hello_is_spoken_while_another_client_has_100_000_unpunctuated_characters(
    wyoming_server: ServerProcess,
) -> None:
    text = ("and then the quick brown fox jumps over the lazy dog " * 2000)[:100_000]
    heard = 0.0  # seconds of the long request's audio, read as it comes

    async def listen(client: AsyncTcpClient, first: asyncio.Event) -> None:
        nonlocal heard
        while (event := await client.read_event()) is not None:
            if AudioChunk.is_type(event.type):
                heard += len(AudioChunk.from_event(event).audio) / 2 / 22050
                first.set()

    async with AsyncTcpClient(*host_port(wyoming_server.uri)) as client:
        await client.write_event(Synthesize(text=text).event())
        first = asyncio.Event()
        listening = asyncio.create_task(listen(client, first))
        await asyncio.wait_for(first.wait(), 60)
        hello = await asyncio.wait_for(synthesize(wyoming_server.uri, "Hello."), 60)
        heard_by_then = heard
        listening.cancel()  # the long request's client leaves: its synthesis stops
    assert hello.seconds > 0.3
    # The long text came piece by piece, and Hello did not wait for the rest of it.
    assert heard_by_then < 40
