"""Whisper's decodes and Piper's runs share one memory budget: what they hold at once is bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import threading
from typing import Any

import numpy as np
import pytest

from tests.conftest import wait_until
from wyoming_services import speech_memory
from wyoming_services.engines import Engines
from wyoming_services.settings import Settings
from wyoming_services.speech_memory import (
    DECODE_SIZE,
    TEXT_AT_ONCE,
    WINDOW_SIZE,
    SpeechMemory,
    run_size,
)
from wyoming_services.stt import SpeechToText, _Decoder
from wyoming_services.tts_text import MAX_PHONEMES
from wyoming_services.tts_turns import BACKGROUND, BACKGROUND_RUN, Turns

from .whisper_fakes import Segment


class _HeldModel:
    """Stands in for faster-whisper: each decode runs until the test lets it end."""

    def __init__(self, engine: SpeechToText) -> None:
        self.engine = engine
        self.release = threading.Event()  # all decodes end
        self.one = threading.Semaphore(0)  # one decode ends
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def transcribe(self, audio: Any, **_: Any) -> tuple[list[Any], None]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        while not self.release.is_set() and not self.one.acquire(timeout=0.01):
            pass
        with self.lock:
            self.running -= 1
        return [Segment()], None


@pytest.fixture
def settings() -> Settings:
    """2 threads, the default budget."""
    return Settings(stt_cpu_threads=2, tts_workers=2)


@pytest.fixture
async def engines(settings: Settings) -> AsyncIterator[tuple[Engines, _HeldModel]]:
    """The server's engines, Whisper's decoders faked (solo and replicas)."""
    shared = Engines(settings)
    stt = shared.stt
    model = _HeldModel(stt)
    stt._solo = _Decoder(model, 2)
    stt._shared = _Decoder(model, 1)
    stt.ready.set()
    try:
        yield shared, model
    finally:
        model.release.set()
        await shared.close()


def _turns(engines: Engines) -> Turns:
    return engines.tts._turns


def _transcription(shared: Engines) -> asyncio.Future[Any]:
    """A second of audio to transcribe, asked now."""
    return asyncio.ensure_future(
        shared.stt.transcribe(np.zeros(16000, np.float32), "en")
    )


async def _runs(shared: Engines, text: str) -> list[tuple[int, int]]:
    """Piper's runs for text: their phonemes, and the phonemes held in runs meanwhile."""
    tts = shared.tts
    await tts.load()
    voice = tts._loaded[tts.default_voice]
    runs: list[tuple[int, int]] = []
    to_ids = voice.phonemes_to_ids

    def recorded(phonemes: list[str]) -> Any:
        runs.append((len(phonemes), tts._turns._memory.text))
        return to_ids(phonemes)

    voice.phonemes_to_ids = recorded
    info, _ = tts.resolve(None)
    async for _ in tts.synthesize(info, None, [text]):
        pass
    return runs


async def _decoding(model: _HeldModel, count: int) -> None:
    for _ in range(200):
        if model.running == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{model.running} decodes running, not {count}")


def _piper_waiting(turns: Turns) -> int:
    """Pieces queued for a slot, not granted (a granted one leaves the queue).

    Both schedulers decide as work asks or ends, never later: once their state shows a
    waiter queued, nothing starts it until something ends.
    """
    return sum(not grant.done() for *_, grant in turns._waiting)


async def test_two_decodes_never_run_at_once(
    engines: tuple[Engines, _HeldModel],
) -> None:
    shared, model = engines
    audio = np.zeros(16000, np.float32)
    jobs = [asyncio.ensure_future(shared.stt.transcribe(audio, "en")) for _ in range(4)]
    await _decoding(model, 1)
    model.one.release()  # three wait: the code before ran two on the replicas
    await jobs[0]
    await _decoding(model, 1)
    # Decided when the first ended: one granted, two queued until the next ends.
    assert shared.stt.memory.decodes == 1
    assert shared.stt.saturated
    assert model.running == 1  # both replicas are free, but two decodes hold 149 MiB
    model.release.set()
    await asyncio.gather(*jobs)
    assert model.most == 1


@pytest.mark.parametrize(
    "settings", [Settings(stt_cpu_threads=2, tts_workers=2, stt_workers=2)]
)
async def test_two_workers_asked_for_get_the_memory_for_two_decodes(
    engines: tuple[Engines, _HeldModel],
) -> None:
    shared, model = engines
    assert shared.stt.memory.limit == TEXT_AT_ONCE + DECODE_SIZE
    jobs = [_transcription(shared) for _ in range(4)]
    await _decoding(model, 1)  # the first alone, on every thread
    model.one.release()
    await jobs[0]
    await _decoding(model, 2)  # the queue side by side, as the user chose
    model.release.set()
    await asyncio.gather(*jobs)


async def test_a_long_piece_waits_while_a_decode_runs_and_hello_does_not(
    engines: tuple[Engines, _HeldModel],
) -> None:
    shared, model = engines
    turns = _turns(shared)
    decode = _transcription(shared)
    await _decoding(model, 1)
    hello = await turns.take(6, size=6)  # 6 MiB beside the decode's 67
    long = asyncio.create_task(turns.take(79, size=79))
    await wait_until(lambda: _piper_waiting(turns) == 1)
    assert not long.done()  # ~80 MiB more than the decode leaves room for
    turns.give_back(hello)
    model.release.set()
    await decode
    turns.give_back(await long)


async def test_a_decode_waits_for_room_and_piper_keeps_it(
    engines: tuple[Engines, _HeldModel],
) -> None:
    shared, model = engines
    turns = _turns(shared)
    piece = await turns.take(100, size=100)
    decode = _transcription(shared)
    await wait_until(lambda: shared.stt.memory.decode_waiting)
    assert model.running == 0  # 100 MiB of Piper run: no room for 67 more
    second = asyncio.create_task(turns.take(110, size=20))
    await wait_until(lambda: _piper_waiting(turns) == 1)
    assert not second.done()  # it would fit, but the waiting decode comes first
    turns.give_back(piece)
    await _decoding(model, 1)
    turns.give_back(await second)  # 20 phonemes fit beside the decode
    model.release.set()
    await decode


async def test_a_decode_stops_a_background_piece_and_none_starts_beside_it(
    engines: tuple[Engines, _HeldModel],
) -> None:
    shared, model = engines
    turns = _turns(shared)
    long = await turns.take(BACKGROUND + 100, size=100)
    decode = _transcription(shared)
    await wait_until(lambda: shared.stt.memory.decode_waiting)
    assert long.stopped  # made again later, as for a short request
    turns.give_back(long)
    await _decoding(model, 1)
    again = asyncio.create_task(turns.take(BACKGROUND + 200, False, size=100))
    await wait_until(lambda: _piper_waiting(turns) == 1)
    assert not again.done()
    model.release.set()
    await decode
    turns.give_back(await again)


async def test_background_pieces_are_made_in_short_runs(
    engines: tuple[Engines, _HeldModel],
) -> None:
    text = "and then the quick brown fox jumps over the lazy dog " * 12
    runs = await _runs(engines[0], text)
    answer = runs[:4]  # the first 480 phonemes, in runs of up to 96
    background = runs[-4:]
    assert max(phonemes for phonemes, _ in answer) > BACKGROUND_RUN
    assert all(phonemes <= BACKGROUND_RUN for phonemes, _ in background)
    # As the memory budget counts it.
    assert all(held <= BACKGROUND_RUN for _, held in background)


async def test_a_cancelled_decode_leaves_no_room_kept(
    engines: tuple[Engines, _HeldModel],
) -> None:
    shared, _model = engines
    turns = _turns(shared)
    piece = await turns.take(80, size=WINDOW_SIZE)
    decode = _transcription(shared)
    await wait_until(lambda: shared.stt.memory.decode_waiting)
    hello = asyncio.create_task(turns.take(6, size=6))
    await asyncio.sleep(0.05)
    assert not hello.done()  # the room kept for the decode
    decode.cancel()
    with pytest.raises(asyncio.CancelledError):
        await decode  # it has given its place up
    assert not shared.stt.memory.decode_waiting
    turns.give_back(await asyncio.wait_for(hello, 1))
    turns.give_back(piece)


async def test_a_queue_of_transcriptions_never_silences_an_answer(
    engines: tuple[Engines, _HeldModel],
) -> None:
    shared, model = engines
    audio = np.zeros(16000, np.float32)
    # Three clients that always have a transcription waiting (an attacker's noise).
    jobs = [asyncio.ensure_future(shared.stt.transcribe(audio, "en")) for _ in range(3)]
    await _decoding(model, 1)
    answer = asyncio.create_task(_turns(shared).take(40, size=40))
    for _ in range(3):  # a few decodes end, each client asks again at once
        model.one.release()
        await asyncio.sleep(0.05)
        jobs.append(asyncio.ensure_future(shared.stt.transcribe(audio, "en")))
        if answer.done():
            break
    assert answer.done(), "a 40-character piece waited behind every decode"
    _turns(shared).give_back(answer.result())
    model.release.set()
    await asyncio.gather(*jobs)


async def test_digits_that_read_long_are_charged_what_they_hold(
    engines: tuple[Engines, _HeldModel],
) -> None:
    # 20 characters, read as some 240 phonemes: runs of one decoder window or more.
    runs = await _runs(engines[0], "9" * 20)
    assert sum(phonemes for phonemes, _ in runs) > 150
    assert all(phonemes <= MAX_PHONEMES for phonemes, _ in runs)
    assert all(held == run_size(phonemes, windowed=True) for phonemes, held in runs)
    assert max(held for _, held in runs) == WINDOW_SIZE


async def test_work_ending_in_a_flood_asks_for_one_trim_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trims, going = [], threading.Event()

    def trim() -> None:
        trims.append(1)
        going.wait(10)

    monkeypatch.setattr(speech_memory, "give_back_freed", trim)
    memory = SpeechMemory()
    for _ in range(50):  # fifty short runs ending while the first trim is on its way
        memory.released()
        await asyncio.sleep(0)
    going.set()
    assert memory.giving_back is not None
    await memory.giving_back
    assert len(trims) == 1
    memory.released()  # the next idle moment trims again
    await memory.giving_back
    assert len(trims) == 2


def test_a_run_is_charged_one_window_at_most_unless_its_voice_runs_whole() -> None:
    assert run_size(12, windowed=True) == 12
    assert run_size(96, windowed=True) == WINDOW_SIZE
    assert run_size(96, windowed=False) == 96
