"""Bad input gets a Wyoming error with a clear text, and the server keeps serving."""

from __future__ import annotations

import pytest
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStop, SynthesizeVoice

from tests.conftest import ServerProcess

from .client import TtsAudio, host_port, read_until, transcribe

pytestmark = pytest.mark.slow

LONG = bytes(2 * 16000 * 31)  # 31 s of 16 kHz 16-bit audio, over the 30 s limit


def chunk(audio: bytes) -> Event:
    return AudioChunk(rate=16000, width=2, channels=1, audio=audio).event()


START = AudioStart(rate=16000, width=2, channels=1).event()

CASES: dict[str, tuple[list[Event], str]] = {
    "too long": (
        [Transcribe(language="en").event(), START]
        + [chunk(LONG[i : i + 32000]) for i in range(0, len(LONG), 32000)]
        + [AudioStop().event()],
        "longer than the 30 s limit",
    ),
    "odd byte count": (
        [Transcribe().event(), START, chunk(b"\x00" * 1001)],
        "not a whole number of 2-byte 1-channel frames",
    ),
    "chunk before start": (
        [chunk(bytes(320))],
        "audio-chunk received before audio-start",
    ),
    "stop before start": (
        [AudioStop().event()],
        "audio-stop received before audio-start",
    ),
    "language": ([Transcribe(language="de").event()], "language 'de' is not supported"),
    "bad format": (
        [Transcribe().event(), AudioStart(rate=16000, width=3, channels=1).event()],
        "unsupported sample width 3",
    ),
    "unknown voice": (
        [Synthesize(text="Hello.", voice=SynthesizeVoice(name="nl_NL-nobody")).event()],
        'voice "nl_NL-nobody" is not installed (installed: en_US-joe-medium)',
    ),
    "chunk before synthesize-start": (
        [SynthesizeChunk(text="Hello").event()],
        "synthesize-chunk received before synthesize-start",
    ),
    "synthesize-stop alone": (
        [SynthesizeStop().event()],
        "synthesize-stop received before synthesize-start",
    ),
    "text too long": (
        [Synthesize(text="word " * 30_000).event()],
        "text is longer than 100000 characters",
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_bad_input_gets_error_and_server_goes_on(
    wyoming_server: ServerProcess, spoken: dict[str, TtsAudio], case: str
) -> None:
    events, expected = CASES[case]
    async with AsyncTcpClient(*host_port(wyoming_server.uri)) as client:
        for event in events:
            try:
                await client.write_event(event)
            except ConnectionError:
                break  # the server answered the bad input and let go, as designed
        received = await read_until(client, "error")
        assert received, "connection closed without an error event"
        assert Error.is_type(received[-1].type)
        assert expected in Error.from_event(received[-1]).text
        # The client is told, then let go: HA's clients wait for a result otherwise.
        assert await client.read_event() is None

    audio = spoken["Pause the music."]
    event, _, _ = await transcribe(wyoming_server.uri, audio.pcm, audio.rate)
    assert event.data["text"].lower().startswith("pause the music")


async def test_unknown_speaker_names_the_voice(wyoming_server: ServerProcess) -> None:
    async with AsyncTcpClient(*host_port(wyoming_server.uri)) as client:
        await client.write_event(
            Synthesize(
                text="Hi.", voice=SynthesizeVoice(name="en_US-joe-medium", speaker="x")
            ).event()
        )
        received = await read_until(client, "audio-stop")
        # Joe has a single speaker: a speaker name is not an error, it is ignored.
        assert received[-1].type == "audio-stop"
