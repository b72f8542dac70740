"""Wake words on the server's one Wyoming endpoint: describe, detect, detection, not-detected."""

from __future__ import annotations

import asyncio
import time

import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.wake import Detect, Detection, NotDetected

from tests.conftest import ServerProcess

from .client import describe, host_port, read_until
from .test_wake import said

pytestmark = pytest.mark.slow


async def stream(
    uri: str, pcm: bytes, names: list[str] | None = None, rate: int = 16000
) -> list[Event]:
    """Detect, then the clip in 20 ms chunks and audio-stop, as a satellite streams it."""
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Detect(names=names).event())
        await client.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        step = rate // 50 * 2
        for start in range(0, len(pcm), step):
            chunk = AudioChunk(
                rate=rate, width=2, channels=1, audio=pcm[start : start + step]
            )
            await client.write_event(chunk.event())
        await client.write_event(AudioStop().event())
        return await read_until(
            client, Detection().event().type, NotDetected().event().type
        )


async def test_describe_offers_the_bundled_wake_words(
    wyoming_server: ServerProcess,
) -> None:
    """HA lists the server's wake words by their phrases."""
    info = await describe(wyoming_server.uri)
    (program,) = info.wake
    assert program.installed
    assert {(model.name, model.phrase) for model in program.models} == {
        ("alexa", "Alexa"),
        ("hey_jarvis", "Hey Jarvis"),
        ("hey_mycroft", "Hey Mycroft"),
        ("okay_nabu", "Okay Nabu"),
    }
    # Speech-to-text and the rest are still offered beside it.
    assert info.asr
    assert info.tts
    assert info.handle


async def test_the_wake_word_is_detected(wyoming_server: ServerProcess) -> None:
    """Detection names the word and when it was heard; no transcript is made of the audio."""
    events = await stream(
        wyoming_server.uri, said("flite-awb", "Okay Nabu"), ["okay_nabu"]
    )
    detections = [Detection.from_event(e) for e in events if Detection.is_type(e.type)]
    assert [d.name for d in detections] == ["okay_nabu"]
    assert detections[0].timestamp is not None
    assert 1000 < detections[0].timestamp < 3000
    assert [e.type for e in events] == ["detection"]


async def test_other_speech_is_not_detected(wyoming_server: ServerProcess) -> None:
    """A stream without the wake word ends with not-detected."""
    events = await stream(
        wyoming_server.uri, said("espeak-ng", "Turn on the kitchen light")
    )
    assert [e.type for e in events] == ["not-detected"]


async def test_any_rate_is_heard(wyoming_server: ServerProcess) -> None:
    """A satellite sending 22.05 kHz is converted, not refused."""
    pcm = said("espeak-ng", "Alexa", rate=22050)
    events = await stream(wyoming_server.uri, pcm, ["alexa"], rate=22050)
    assert [
        Detection.from_event(e).name for e in events if Detection.is_type(e.type)
    ] == ["alexa"]


async def test_an_unknown_wake_word_gets_an_error(
    wyoming_server: ServerProcess,
) -> None:
    """The error names the word asked for and what is offered; the server serves on."""
    async with AsyncClient.from_uri(wyoming_server.uri) as client:
        await client.write_event(Detect(names=["hey_siri"]).event())
        (event,) = await read_until(client, "error")
    error = Error.from_event(event)
    assert error.code == "wake-error"
    assert "'hey_siri'" in error.text
    assert "okay_nabu" in error.text
    assert (await describe(wyoming_server.uri)).wake


async def test_mistyped_names_are_refused_by_field(
    wyoming_server: ServerProcess,
) -> None:
    """names must be a list of names: a string or a list with a number is refused by name."""
    for names in ("okay_nabu", ["okay_nabu", 3]):
        async with AsyncClient.from_uri(wyoming_server.uri) as client:
            await client.write_event(Event(type="detect", data={"names": names}))
            (event,) = await read_until(client, "error")
        error = Error.from_event(event)
        assert error.code == "bad-event"
        assert error.text.startswith("detect: names")


async def test_a_huge_chunk_is_refused_before_any_work(
    wyoming_server: ServerProcess,
) -> None:
    """2 MiB at 1 kHz is 35 minutes of audio: refused by its length; others are served on."""
    async with AsyncClient.from_uri(wyoming_server.uri) as client:
        await client.write_event(Detect(names=["okay_nabu"]).event())
        await client.write_event(AudioStart(rate=1000, width=1, channels=1).event())
        huge = AudioChunk(rate=1000, width=1, channels=1, audio=bytes(2 * 1024 * 1024))
        await client.write_event(huge.event())
        async with asyncio.timeout(2):  # heard at once, not after 30 s of work
            (event,) = await read_until(client, "error")
    error = Error.from_event(event)
    assert error.code == "wake-error"
    assert "longer than 1 s" in error.text
    assert (await describe(wyoming_server.uri)).wake


async def test_a_partial_frame_is_a_wake_error(wyoming_server: ServerProcess) -> None:
    """Audio that is not whole frames is named as the wake stream's error, not speech-to-text's."""
    async with AsyncClient.from_uri(wyoming_server.uri) as client:
        await client.write_event(Detect(names=["alexa"]).event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        chunk = AudioChunk(rate=16000, width=2, channels=1, audio=bytes(7))
        await client.write_event(chunk.event())
        (event,) = await read_until(client, "error")
    error = Error.from_event(event)
    assert error.code == "wake-error"
    assert "whole number of 2-byte 1-channel frames" in error.text


async def test_wake_audio_is_heard_no_faster_than_it_plays(
    wyoming_server: ServerProcess,
) -> None:
    """Eight 1-s chunks back to back are heard at 1.5x real time past a 2-s burst."""
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    async with AsyncClient.from_uri(wyoming_server.uri) as client:
        await client.write_event(Detect(names=["okay_nabu"]).event())
        await client.write_event(AudioStart(**fmt).event())
        started = time.monotonic()
        for _ in range(8):
            await client.write_event(AudioChunk(**fmt, audio=bytes(32000)).event())
        await client.write_event(AudioStop().event())
        await read_until(client, NotDetected().event().type)
        heard_in = time.monotonic() - started
    # (8 - 2) / 1.5 = 4 s at the least, however loaded; all of it took 0.1 s.
    assert heard_in > 3.5


async def wake_round(uri: str, address: str, seconds: int) -> float:
    """A new connection from address: `seconds` 1-s chunks back to back; how long until heard."""
    fmt = {"rate": 16000, "width": 2, "channels": 1}
    reader, writer = await asyncio.open_connection(
        *host_port(uri), local_addr=(address, 0)
    )
    try:
        started = time.monotonic()
        for sent in (Detect(names=["okay_nabu"]).event(), AudioStart(**fmt).event()):
            await async_write_event(sent, writer)
        for _ in range(seconds):
            chunk = AudioChunk(**fmt, audio=bytes(32000)).event()
            await async_write_event(chunk, writer)
        await async_write_event(AudioStop().event(), writer)
        while (event := await async_read_event(reader)) is not None:
            if NotDetected.is_type(event.type):
                return time.monotonic() - started
        raise ConnectionError("closed without not-detected")
    finally:
        writer.close()


async def test_a_stranger_gets_no_new_burst_by_reconnecting(
    wyoming_server: ServerProcess,
) -> None:
    """A stranger's wake audio is paced per address, not per connection.

    Reconnecting for each 2 s of audio got a new 2-s burst every time, so wake
    audio was heard at any speed (attack_wy2 poc_wake_pace.py: 64 s of audio a
    second, describe 0.9 s). Home Assistant (trusted) keeps its burst per connection.
    """
    home = [await wake_round(wyoming_server.uri, "127.0.0.1", 2) for _ in range(4)]
    stranger = [await wake_round(wyoming_server.uri, "127.0.0.7", 2) for _ in range(4)]
    # After the first burst, each 2 s waits 2 / 1.5 s at the least, however loaded.
    assert sum(stranger) > 3 * 2 / 1.5 - 0.2
    assert sum(home) < sum(stranger)
