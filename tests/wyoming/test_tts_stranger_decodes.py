"""A stranger's Whisper decode never stops Home Assistant's long reading, nor holds it back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import threading
from typing import Any

import numpy as np
import pytest

from tests.conftest import wait_until
from wyoming_services.authority import Authority
from wyoming_services.settings import Settings
from wyoming_services.speech_memory import DECODE_SIZE, TEXT_AT_ONCE, SpeechMemory
from wyoming_services.stt import SpeechToText, _Decoder
from wyoming_services.tts_turns import BACKGROUND, Turns

from .whisper_fakes import Segment

STRANGER = Authority("127.0.0.7", may_act=False)
HOME = Authority("127.0.0.1", may_act=True)
# A reading's piece that fits beside a decode (or the room kept for it).
PIECE = TEXT_AT_ONCE - DECODE_SIZE


def _decoding(
    memory: SpeechMemory, *, waiting: bool, running: int, trusted: bool
) -> None:
    """What SpeechToText sets as decodes wait and run, then Piper woken."""
    memory.decode_waiting, memory.decodes = waiting, running
    memory.trusted_decode_waiting = waiting and trusted
    memory.trusted_decodes = running if trusted else 0
    memory.wake_piper()


async def _granted(turns: Turns, reading: bool) -> bool:
    """Whether a background piece asked now (Home Assistant's if reading) starts at once."""
    again = asyncio.ensure_future(
        turns.take(BACKGROUND + 200, False, PIECE, trusted=reading)
    )
    await asyncio.sleep(0)
    if again.done():
        turns.give_back(again.result())
        return True
    again.cancel()
    return False


@pytest.mark.parametrize(
    ("trusted", "reading"),
    [
        pytest.param(False, True, id="HA's reading, a stranger's decode"),
        pytest.param(True, True, id="HA's reading, a trusted decode"),
        pytest.param(False, False, id="a stranger's reading, a stranger's decode"),
    ],
)
async def test_a_background_run_gives_way_only_to_decodes_of_its_trust_or_more(
    trusted: bool, reading: bool
) -> None:
    """trusted: whether the decode is; reading: whether the run is Home Assistant's."""
    memory = SpeechMemory()
    turns = Turns(slots=2, memory=memory)
    run = await turns.take(BACKGROUND + 100, size=PIECE, trusted=reading)
    gives_way = trusted or not reading
    _decoding(memory, waiting=True, running=0, trusted=trusted)
    assert run.stopped is gives_way
    turns.give_back(run)  # background runs go alone: its re-run waits for its end
    assert await _granted(turns, reading) is not gives_way
    _decoding(memory, waiting=False, running=1, trusted=trusted)
    assert await _granted(turns, reading) is not gives_way
    _decoding(memory, waiting=False, running=0, trusted=trusted)
    assert await _granted(turns, reading)


class _HeldModel:
    """Stands in for faster-whisper: each decode runs until the test lets it end."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.running = 0

    def transcribe(self, audio: Any, **_: Any) -> tuple[list[Any], None]:
        self.running += 1
        self.release.wait(10)
        return [Segment()], None


@pytest.fixture
async def stt() -> AsyncIterator[tuple[SpeechToText, _HeldModel]]:
    """Whisper with its decoder faked, its memory shared with nothing yet."""
    engine = SpeechToText(Settings(stt_cpu_threads=2))
    model = _HeldModel()
    engine._solo = _Decoder(model, 2)
    engine.ready.set()
    try:
        yield engine, model
    finally:
        model.release.set()
        await engine.close()


@pytest.mark.parametrize("requester", [STRANGER, HOME], ids=["stranger", "home"])
async def test_only_a_trusted_transcription_stops_home_assistants_reading(
    stt: tuple[SpeechToText, _HeldModel], requester: Authority
) -> None:
    engine, model = stt
    stops = requester.may_act
    turns = Turns(slots=2, memory=engine.memory)
    reading = await turns.take(BACKGROUND + 100, size=36)
    audio = np.zeros(16000, np.float32)
    decode = asyncio.ensure_future(engine.transcribe(audio, "en", requester=requester))
    try:
        await wait_until(lambda: engine.memory.decode_waiting, 2)
        # No room for the decode beside it: the decode waits, or the reading stops.
        assert reading.stopped is stops
        turns.give_back(reading)
        await wait_until(lambda: model.running == 1, 2)
        # PIECE fits beside the decode.
        assert await _granted(turns, reading=True) is not stops
    finally:
        model.release.set()
        if not model.running:
            decode.cancel()  # still waiting for room a failed test never gives
        await asyncio.gather(decode, return_exceptions=True)
    assert (engine.memory.decodes, engine.memory.trusted_decodes) == (0, 0)
    assert await _granted(turns, reading=True)
