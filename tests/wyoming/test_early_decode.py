"""The decode starts early in the quiet, and the turn still ends only on a decode of every word."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import time
from typing import cast

import numpy as np
import pytest

from wyoming_services.audio import TARGET_RATE, Float32Array, PcmFormat
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText, SttCounters, Transcription
from wyoming_services.stt_session import SttSession
from wyoming_services.turn_end import COMPLETE_SECONDS

from .clips import as_format, trimmed
from .voices import speak

RATE = TARGET_RATE
CHUNK = RATE // 50  # 20 ms, as satellites send
LEAD = RATE // 2
FORMAT = PcmFormat(RATE, 2, 1)


@dataclass
class Decode:
    """One decode the engine ran: to its last sound, and how far the stream was when it started."""

    samples: int
    size: int
    started_at: int


@dataclass
class FakeEngine:
    """Stands in for Whisper: the text depends on how much audio the decode got."""

    full: int  # decodes of at least this many samples hear the whole command
    seconds: float = 0.05
    settings: Settings = field(default_factory=Settings)
    counters: SttCounters = field(default_factory=SttCounters)
    saturated: bool = False
    fed: int = 0
    decodes: list[Decode] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def transcribe(
        self,
        audio: Float32Array,
        language: str,
        running: asyncio.Event | None = None,
        requester: object = None,
    ) -> Transcription:
        heard = int(np.flatnonzero(audio)[-1]) + 1  # to the last sound it was given
        self.decodes.append(Decode(heard, audio.size, self.fed))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if running is not None:
            running.set()
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.in_flight -= 1
        if heard >= self.full:
            return Transcription(
                "Turn on the kitchen light.", [], language, 0, "HassTurnOn"
            )
        return Transcription("Turn on the", [], language, 0)


async def voice(text: str) -> np.ndarray:
    """The text in espeak-ng's voice, trimmed to the speech, as 16 kHz samples."""
    pcm, rate = await asyncio.to_thread(speak, "espeak-ng", text)
    return np.frombuffer(as_format(trimmed(pcm), rate, RATE, 1), dtype="<i2")


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype="<i2")


async def stream(engine: FakeEngine, pcm: np.ndarray) -> tuple[SttSession, int]:
    """Feed 20 ms chunks at twice real time until the turn is over: the session and where it ended."""
    session = SttSession(cast(SpeechToText, engine), FORMAT, "en")
    began = time.monotonic()
    for offset in range(0, pcm.size, CHUNK):
        session.add_audio(pcm[offset : offset + CHUNK].tobytes())
        engine.fed = offset + CHUNK
        if session.turn_over():
            return session, engine.fed
        await asyncio.sleep(
            max(0.0, began + engine.fed / RATE / 1.9 - time.monotonic())
        )
    pytest.fail("the turn never ended")


async def test_the_turn_ends_right_after_the_quiet_it_needs() -> None:
    command = await voice("Turn on the kitchen light.")
    pcm = np.concatenate((quiet(0.5), command, quiet(2.0)))
    engine = FakeEngine(full=LEAD + command.size)
    session, ended = await stream(engine, pcm)
    result = await session.finish()

    speech_end = LEAD + command.size
    (decode,) = engine.decodes
    # Started early in the quiet, on all the audio so far ...
    assert decode.started_at - speech_end <= 0.16 * RATE
    assert decode.samples >= speech_end
    assert decode.size == session._tracker.tail_end()  # the tail to come, as silence
    # ... so the turn ended the chunk the quiet a complete command needs had passed.
    assert (
        COMPLETE_SECONDS * RATE
        <= ended - speech_end
        < COMPLETE_SECONDS * RATE + 2 * CHUNK
    )
    assert result.transcription.text == "Turn on the kitchen light."
    assert (result.speculative, result.passes, result.passes_after_stop) == (True, 1, 0)


async def test_speech_after_an_early_decode_is_decoded_again() -> None:
    first, rest = await voice("Turn on the"), await voice("kitchen light.")
    pause = quiet(0.35)  # an early decode starts; the turn must not end
    pcm = np.concatenate((quiet(0.5), first, pause, rest, quiet(2.0)))
    rest_starts = LEAD + first.size + pause.size
    # A slow decode: the speaker goes on while the first one still runs.
    engine = FakeEngine(full=rest_starts + rest.size, seconds=0.4)
    session, ended = await stream(engine, pcm)
    result = await session.finish()

    assert engine.decodes[0].samples < rest_starts  # the first half only
    assert engine.most_in_flight == 1  # the next one waited for it
    assert engine.decodes[-1].samples >= rest_starts + rest.size  # every word
    assert ended > rest_starts + rest.size
    assert result.transcription.text == "Turn on the kitchen light."
    assert result.passes == len(engine.decodes) >= 2


async def test_a_soft_sound_after_an_early_decode_makes_it_stale() -> None:
    command = await voice("Turn on the kitchen light.")
    peak = float(np.abs(command).max())
    # Not loud (-32 dB of the peak), but no silence: a soft ending said late.
    t = np.arange(int(0.06 * RATE)) / RATE
    soft = (0.025 * peak * np.sin(2 * np.pi * 300 * t)).astype("<i2")
    pcm = np.concatenate((quiet(0.5), command, quiet(0.13), soft, quiet(2.0)))
    soft_ends = LEAD + command.size + int(0.13 * RATE) + soft.size
    engine = FakeEngine(full=soft_ends)
    session, _ = await stream(engine, pcm)
    result = await session.finish()

    assert engine.decodes[0].samples < soft_ends  # the early one missed it ...
    assert engine.decodes[-1].samples >= soft_ends  # ... the answer did not
    assert len(engine.decodes) == 2
    assert result.transcription.text == "Turn on the kitchen light."


async def test_steady_room_noise_counts_as_silence() -> None:
    command = await voice("Turn on the kitchen light.")
    pcm = np.concatenate((quiet(0.5), command, quiet(2.0)))
    # A fan at -50 dBFS all through: above -60 dBFS and -40 dB of the speech.
    fan = np.random.default_rng(7).normal(0, 0.003 * 32767, pcm.size)
    noisy = np.clip(pcm + fan, -32768, 32767).astype("<i2")
    engine = FakeEngine(full=LEAD + command.size)
    session, ended = await stream(engine, noisy)
    result = await session.finish()

    speech_end = LEAD + command.size
    assert engine.decodes[0].started_at - speech_end <= 0.16 * RATE
    assert ended - speech_end < COMPLETE_SECONDS * RATE + 2 * CHUNK
    assert result.speculative
