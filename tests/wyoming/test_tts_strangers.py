"""Strangers' speech never holds Home Assistant's first audio: their runs stop for its answer."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

import pytest
from wyoming.audio import AudioChunk, AudioStop
from wyoming.error import Error
from wyoming.event import async_read_event, async_write_event
from wyoming.tts import Synthesize

from tests.conftest import ServerProcess, wait_until
from wyoming_services.settings import Settings
from wyoming_services.speech_memory import TEXT_AT_ONCE, WINDOW_SIZE
from wyoming_services.tts import TextToSpeech
from wyoming_services.tts_turns import BACKGROUND, Turns

from .client import host_port

HOME = "127.0.0.1"  # in the default wyoming_trusted_clients
STRANGER = "127.0.0.7"
# A stranger's short request: one run of 94 phonemes, foreground (never background).
NUMBER = "Seven hundred seventy seven thousand seven hundred seventy seven point seven seven."
# Home Assistant's answer: one run of 81 phonemes, no room for it beside NUMBER's.
ANSWER = "The kitchen light is on, and the living room is twenty one degrees right now."


async def test_an_answer_stops_a_strangers_run_holding_its_room() -> None:
    turns = Turns(slots=2)
    stranger = await turns.take(94, size=94, trusted=False)
    answer = asyncio.create_task(turns.take(81, size=81))
    await asyncio.sleep(0)
    assert not answer.done()  # 94 + 81 phonemes are more than the memory allows
    assert stranger.stoppable
    assert stranger.stopped  # so it stops, and is made again after
    turns.give_back(stranger)
    await asyncio.sleep(0)
    assert answer.done()
    turns.give_back(answer.result())


async def test_a_strangers_run_made_again_still_gives_way_to_an_answer() -> None:
    turns = Turns(slots=2)
    again = await turns.take(94, stoppable=False, size=94, trusted=False)
    answer = asyncio.create_task(turns.take(81, size=81))
    await asyncio.sleep(0)
    assert again.stopped  # only strangers wait for it: they never starve HA
    turns.give_back(again)
    turns.give_back(await answer)


async def test_strangers_runs_in_every_slot_stop_for_an_answer() -> None:
    turns = Turns(slots=2)
    strangers = [await turns.take(6, size=6, trusted=False) for _ in range(2)]
    answer = asyncio.create_task(turns.take(6, size=6))
    await asyncio.sleep(0)
    assert all(stranger.stopped for stranger in strangers)
    turns.give_back(strangers[0])
    await asyncio.sleep(0)
    assert answer.done()  # in the first slot freed
    turns.give_back(strangers[1])
    turns.give_back(answer.result())


async def test_an_answer_with_room_beside_strangers_stops_none() -> None:
    turns = Turns(slots=2)
    stranger = await turns.take(6, size=6, trusted=False)
    answer = await turns.take(81, size=WINDOW_SIZE)
    assert not stranger.stopped
    turns.give_back(stranger)
    turns.give_back(answer)


async def test_strangers_runs_go_on_while_ha_waits_for_its_own() -> None:
    turns = Turns(slots=2)
    # A voice run whole (not cut before its decoder) holds a phoneme's MiB each.
    running = await turns.take(90, size=TEXT_AT_ONCE - 10)
    stranger = await turns.take(10, size=6, trusted=False)
    answer = asyncio.create_task(turns.take(60, size=20))
    await asyncio.sleep(0)
    assert not answer.done()  # no room beside HA's run, strangers or not
    assert not stranger.stopped  # stopping it would gain nothing
    turns.give_back(stranger)
    turns.give_back(running)
    turns.give_back(await answer)


async def test_home_assistants_long_reading_waits_for_strangers_runs_unstopped() -> (
    None
):
    turns = Turns(slots=2)
    stranger = await turns.take(6, size=6, trusted=False)
    reading = asyncio.create_task(turns.take(BACKGROUND + 100, size=36))
    await asyncio.sleep(0)
    assert not reading.done()  # background runs go alone
    assert not stranger.stopped  # a reading is ahead by 480 phonemes: no work lost
    turns.give_back(stranger)
    turns.give_back(await reading)


async def test_a_strangers_hello_never_stalls_home_assistants_long_reading() -> None:
    turns = Turns(slots=1)
    running = await turns.take(6, size=6)
    reading = asyncio.create_task(turns.take(BACKGROUND + 100, size=36))
    await asyncio.sleep(0)
    hello = asyncio.create_task(turns.take(6, size=6, trusted=False))
    await asyncio.sleep(0)
    turns.give_back(running)
    await asyncio.sleep(0)
    # The reading is first in turn; the Hello waiting behind it held it back, and
    # with the slot free neither ever started.
    assert reading.done()
    turns.give_back(reading.result())
    turns.give_back(await hello)


async def test_a_strangers_hello_never_stops_home_assistants_long_reading() -> None:
    turns = Turns(slots=2)
    reading = await turns.take(BACKGROUND + 100, size=36)
    hello = await turns.take(6, size=6, trusted=False)
    assert not reading.stopped  # made again, it would go before the Hello anyway
    turns.give_back(hello)
    turns.give_back(reading)


async def test_a_strangers_background_run_still_gives_way_to_any_hello() -> None:
    turns = Turns(slots=2)
    long = await turns.take(BACKGROUND + 100, size=36, trusted=False)
    hello = await turns.take(6, size=6, trusted=False)
    assert long.stopped
    turns.give_back(hello)
    turns.give_back(long)


@pytest.fixture
def tts_settings() -> Settings:
    """No noise (the same text, the same audio), two threads."""
    return Settings(tts_workers=2, tts_noise_scale=0, tts_noise_w_scale=0)


@pytest.mark.slow
async def test_an_answer_is_made_before_the_strangers_runs_in_progress_end(
    tts: TextToSpeech,
) -> None:
    """The attack: four strangers' short requests held Piper's memory, HA's answer waited.

    Strangers running 2 or more short requests at once kept a run of theirs in
    Piper's memory at all times: HA's first audio waited for it (537-1,969 ms for
    155 ms alone).
    """
    info, _ = tts.resolve(None)
    alone = b"".join(
        [pcm async for pcm in tts.synthesize(info, None, [NUMBER], trusted=False)]
    )
    voice = tts._loaded[tts.default_voice]
    to_audio = voice.phoneme_ids_to_audio
    answer_asked = threading.Event()
    # Runs started, and runs in progress when HA asked that ran to their end.
    started: list[bool] = []
    finished: list[bool] = []

    def held(*args: Any, **kwargs: Any) -> Any:
        started.append(True)
        in_progress = not answer_asked.is_set()
        answer_asked.wait(30)  # the strangers' runs are in progress when HA asks
        audio = to_audio(*args, **kwargs)
        finished.append(in_progress)
        return audio

    voice.phoneme_ids_to_audio = held

    async def request(text: str, trusted: bool) -> bytes:
        return b"".join(
            [pcm async for pcm in tts.synthesize(info, None, [text], trusted=trusted)]
        )

    strangers = [asyncio.create_task(request(NUMBER, False)) for _ in range(4)]
    # Both workers busy with a stranger's run: with one still phonemizing, HA's
    # answer took the free worker at once and never waited.
    await wait_until(lambda: len(started) == tts.settings.tts_workers, 30)
    answer = asyncio.create_task(request(ANSWER, True))
    waiting = tts._turns._waiting
    await wait_until(
        lambda: any(not a.stranger and not a.grant.done() for a in waiting)
    )
    answer_asked.set()
    await asyncio.wait_for(answer, 60)
    made = await asyncio.wait_for(asyncio.gather(*strangers), 120)
    assert not any(finished)  # every run in progress gave way to the answer
    assert tts.counters.gave_way >= 1
    assert made == [alone] * 4  # the stopped runs were made again, whole


async def first_audio(uri: str, address: str, text: str) -> tuple[float, float]:
    """When a synthesize from address was sent and when its first audio came (read to its end)."""
    reader, writer = await asyncio.open_connection(
        *host_port(uri), local_addr=(address, 0)
    )
    try:
        sent, first = time.monotonic(), 0.0
        await async_write_event(Synthesize(text=text).event(), writer)
        while (event := await async_read_event(reader)) is not None:
            if AudioChunk.is_type(event.type) and not first:
                first = time.monotonic()
            if AudioStop.is_type(event.type) and first:
                return sent, first
            assert not Error.is_type(event.type), event.data
        raise ConnectionError("closed before audio-stop")
    finally:
        writer.close()


async def keep_asking(uri: str, stop: asyncio.Event, heard: list[float]) -> None:
    """A stranger asking for NUMBER until stop; heard: when each run's audio came."""
    while not stop.is_set():
        # A new connection each time: a request with nothing spoken, never background.
        heard.append((await first_audio(uri, STRANGER, NUMBER))[1])


@pytest.mark.slow
async def test_four_strangers_short_requests_never_hold_home_assistants_first_audio(
    wyoming_server: ServerProcess,
) -> None:
    """The attack over Wyoming: HA's answers beside a stranger asking on 4 connections.

    Its runs in progress when an answer is asked stop: none of its audio comes while
    the answer waits (but a run's ending just as the answer was asked).
    """
    uri = wyoming_server.uri
    await first_audio(uri, HOME, ANSWER)  # voices and caches warm
    idle = [first - sent for sent, first in [await first_audio(uri, HOME, ANSWER)]]
    idle += [first - sent for sent, first in [await first_audio(uri, HOME, ANSWER)]]
    stop, heard = asyncio.Event(), list[float]()
    strangers = [asyncio.create_task(keep_asking(uri, stop, heard)) for _ in range(4)]
    await wait_until(lambda: len(heard) >= 4, 60)  # each is asking
    answers = []
    for _ in range(5):
        answers.append(await first_audio(uri, HOME, ANSWER))
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*strangers), 60)
    waited = [first - sent for sent, first in answers]
    # Before, each answer waited for a run of theirs to end (0.5-1.5 s).
    held = sum(sent < at < first for sent, first in answers for at in heard)
    assert held <= 1, (held, idle, waited)
    assert statistics.median(waited) < 2 * max(idle) + 0.5, (idle, waited)
