"""A long request gives way to a short one: its piece in progress is stopped, made again after."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from wyoming_services.settings import Settings
from wyoming_services.speech_memory import run_size
from wyoming_services.tts import TextToSpeech
from wyoming_services.tts_text import MAX_PHONEMES
from wyoming_services.tts_turns import BACKGROUND, Turns

pytestmark = pytest.mark.slow

# Ten pieces of 80 characters or less: five runs of up to 96 phonemes, then short
# ones; from the seventh run on (past 480 phonemes), the request is background.
LONG = ("and then the quick brown fox jumps over the lazy dog " * 16)[:790]


async def test_a_background_run_is_stopped_when_a_short_request_asks() -> None:
    turns = Turns(slots=2)
    long = await turns.take(BACKGROUND + 100)
    assert long.background
    assert not long.stopped
    hello = await turns.take(6)  # a slot was free: granted at once
    assert long.stopped  # yet the long piece stops: Hello gets the CPU alone
    assert not hello.stopped
    turns.give_back(long)


async def test_a_piece_stopped_once_runs_to_its_end() -> None:
    turns = Turns(slots=2)
    again = await turns.take(BACKGROUND + 100, stoppable=False)
    hello = await turns.take(6)
    assert not again.stopped  # else Hellos every moment would starve it
    turns.give_back(hello)
    turns.give_back(again)


async def test_no_background_piece_starts_while_a_short_request_speaks() -> None:
    turns = Turns(slots=2)
    hello = await turns.take(6)
    waiting = asyncio.create_task(turns.take(BACKGROUND + 100))
    await asyncio.sleep(0)
    assert not waiting.done()  # a slot is free, but Hello is speaking
    turns.give_back(hello)
    long = await waiting
    assert not long.stopped
    turns.give_back(long)


async def test_background_pieces_run_one_at_a_time() -> None:
    turns = Turns(slots=2)
    first = await turns.take(BACKGROUND + 100)
    second = asyncio.create_task(turns.take(BACKGROUND + 200))
    await asyncio.sleep(0)
    assert not second.done()  # each holds ~100 MiB while it runs: one at a time
    turns.give_back(first)
    turns.give_back(await second)


async def test_requests_under_background_share_the_slots() -> None:
    turns = Turns(slots=2)
    answer = await turns.take(BACKGROUND)
    hello = await turns.take(6)
    assert not answer.stopped
    assert not hello.stopped
    turns.give_back(answer)
    turns.give_back(hello)


async def test_two_long_pieces_do_not_run_at_once() -> None:
    turns = Turns(slots=2)
    first = await turns.take(80, size=80)
    second = asyncio.create_task(turns.take(75, size=75))
    await asyncio.sleep(0)
    assert not second.done()  # a slot is free, but each run holds ~100 MiB
    turns.give_back(first)
    turns.give_back(await second)


async def test_hello_runs_beside_the_longest_piece() -> None:
    turns = Turns(slots=2)
    longest = run_size(MAX_PHONEMES, windowed=True)
    again = await turns.take(BACKGROUND + 100, stoppable=False, size=longest)
    hello = await turns.take(6, size=6)
    assert not again.stopped
    turns.give_back(hello)
    turns.give_back(again)


async def test_a_short_piece_waits_behind_a_long_one_first_in_turn() -> None:
    turns = Turns(slots=2)
    running = await turns.take(60, size=60)
    long = asyncio.create_task(turns.take(70, size=70))
    await asyncio.sleep(0)
    short = asyncio.create_task(turns.take(90, size=10))
    await asyncio.sleep(0)
    # The short one would fit, but it comes later in turn: the long one never starves.
    assert not long.done()
    assert not short.done()
    turns.give_back(running)
    turns.give_back(await long)
    turns.give_back(await short)


@pytest.fixture
def tts_settings() -> Settings:
    """No noise (the same text, the same audio), two threads."""
    return Settings(tts_workers=2, tts_noise_scale=0, tts_noise_w_scale=0)


async def spoken(tts: TextToSpeech, text: str, heard: list[str], name: str) -> bytes:
    info, _ = tts.resolve(None)
    pcm = b""
    async for piece in tts.synthesize(info, None, [text]):
        pcm += piece
        heard.append(name)
    return pcm


async def test_hello_stops_a_long_requests_piece_which_is_made_again_whole(
    tts_making_every_run: TextToSpeech,
) -> None:
    tts = tts_making_every_run
    heard: list[str] = []
    alone = await spoken(tts, LONG, heard, "long")
    heard.clear()
    voice = tts._loaded[tts.default_voice]
    to_audio = voice.phoneme_ids_to_audio
    runs, background, hello_asked = 0, threading.Event(), threading.Event()

    def held_background(*args: Any, **kwargs: Any) -> Any:
        nonlocal runs
        runs += 1
        if runs == 7:  # the long request's first background run, about to start
            background.set()
            hello_asked.wait(30)
        return to_audio(*args, **kwargs)

    voice.phoneme_ids_to_audio = held_background
    turns, stopped = tts._turns, asyncio.Event()
    hand_out = turns._hand_out

    def watched() -> None:
        hand_out()
        if any(turn.stopped for turn in turns._running):
            stopped.set()

    turns._hand_out = watched  # type: ignore[method-assign]
    long = asyncio.create_task(spoken(tts, LONG, heard, "long"))
    await asyncio.to_thread(background.wait, 30)
    hello = asyncio.create_task(spoken(tts, "Hello.", heard, "hello"))
    await asyncio.wait_for(stopped.wait(), 30)  # Hello asked: the long piece stops
    hello_asked.set()  # the long piece runs now, stopped: onnxruntime ends it at once
    await hello
    # The six runs before it, window by window, then Hello before the rest.
    assert len(heard) > 6
    assert heard[-1] == "hello"
    assert set(heard[:-1]) == {"long"}
    assert await long == alone  # the stopped piece was made again, whole
    assert tts.counters.gave_way == 1


async def test_strangers_runs_wait_for_a_trusted_clients() -> None:
    """The attack: strangers' fresh requests (nothing spoken yet) ahead of Home Assistant's answer."""
    turns = Turns(slots=1)
    running = await turns.take(0, size=10, trusted=False)
    strangers = [
        asyncio.create_task(turns.take(0, size=10, trusted=False)) for _ in range(3)
    ]
    await asyncio.sleep(0)
    answer = asyncio.create_task(turns.take(90, size=10))  # already spoke 80
    await asyncio.sleep(0)
    turns.give_back(running)
    await asyncio.sleep(0)
    assert answer.done()
    assert not any(stranger.done() for stranger in strangers)
    turns.give_back(answer.result())
    for stranger in strangers:
        turns.give_back(await stranger)
