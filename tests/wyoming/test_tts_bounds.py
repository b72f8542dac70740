"""Piper whatever the text: bounded pieces, requests in turns, a cancelled request stops at once."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from wyoming.event import Event

from wyoming_services.speaking import Speaking
from wyoming_services.tts import TextStream, TextToSpeech, TtsError
from wyoming_services.tts_text import MAX_PHONEMES, MAX_PIECE
from wyoming_services.tts_turns import Turns

pytestmark = pytest.mark.slow

UNPUNCTUATED = ("and then the quick brown fox jumps over the lazy dog " * 10)[:500]
# Numbers and symbols are read out long: far more phonemes than characters.
DIGITS = "2026 1234567 98765 % & 4711 " * 4


class PiperSpy:
    """What the real Piper voice is handed: texts to phonemize, phoneme ids per run."""

    def __init__(self, tts: TextToSpeech) -> None:
        self.texts: list[str] = []
        self.ids: list[int] = []
        self.started = threading.Event()
        voice = tts._loaded[tts.default_voice]
        phonemize, to_audio = voice.phonemize, voice.phoneme_ids_to_audio

        def spy_phonemize(text: str) -> Any:
            self.texts.append(text)
            self.started.set()
            return phonemize(text)

        def spy_to_audio(ids: list[int], *args: Any, **kwargs: Any) -> Any:
            self.ids.append(len(ids))
            return to_audio(ids, *args, **kwargs)

        voice.phonemize = spy_phonemize
        voice.phoneme_ids_to_audio = spy_to_audio


async def spoken_seconds(tts: TextToSpeech, text: str, pieces: int = 99) -> float:
    info, _ = tts.resolve(None)
    seconds = 0.0
    async for pcm in tts.synthesize(info, None, [text]):
        seconds += len(pcm) / 2 / info.sample_rate
        pieces -= 1
        if not pieces:
            break
    return seconds


async def test_unpunctuated_text_reaches_piper_in_bounded_pieces(
    tts: TextToSpeech,
) -> None:
    spy = PiperSpy(tts)
    await spoken_seconds(tts, UNPUNCTUATED, pieces=2)
    await spoken_seconds(tts, DIGITS)
    assert max(map(len, spy.texts)) <= MAX_PIECE
    # Piper's ids: a start mark, then a pad after it and after each phoneme, an end mark.
    assert max(spy.ids) <= 2 * MAX_PHONEMES + 3
    assert len(spy.ids) > len(spy.texts)  # the digits were cut into several runs


async def test_a_cancelled_request_stops_at_the_piece_in_flight(
    tts: TextToSpeech,
) -> None:
    spy = PiperSpy(tts)
    long = asyncio.create_task(spoken_seconds(tts, UNPUNCTUATED))
    await asyncio.to_thread(spy.started.wait, 30)
    long.cancel()
    await spoken_seconds(tts, "Hello.")
    assert spy.texts[-1] == "Hello."
    assert sum(map(len, spy.texts[:-1])) <= MAX_PIECE  # only what was in flight


async def test_hello_waits_for_one_piece_of_a_long_request_not_all_of_it(
    tts: TextToSpeech,
) -> None:
    spy = PiperSpy(tts)
    heard: list[float] = []

    async def long_request() -> None:
        info, _ = tts.resolve(None)
        async for pcm in tts.synthesize(info, None, [UNPUNCTUATED]):
            heard.append(len(pcm) / 2 / info.sample_rate)

    long = asyncio.create_task(long_request())
    await asyncio.to_thread(spy.started.wait, 30)
    await spoken_seconds(tts, "Hello.")
    long.cancel()
    # One thread: Hello waited for the long request's piece in flight, then went first.
    assert sum(heard) < 8.0  # one piece is about 6 s of speech; all of it is ~30 s


async def test_hello_goes_before_a_crowd_of_new_long_requests(
    tts: TextToSpeech,
) -> None:
    spy = PiperSpy(tts)
    order: list[str] = []

    async def request(name: str, text: str) -> None:
        info, _ = tts.resolve(None)
        async for _ in tts.synthesize(info, None, [text]):
            order.append(name)
            return

    busy = asyncio.create_task(request("busy", UNPUNCTUATED))
    await asyncio.to_thread(spy.started.wait, 30)  # the one thread is taken
    crowd = [asyncio.create_task(request("crowd", UNPUNCTUATED)) for _ in range(3)]
    await asyncio.sleep(0)  # the crowd asked first
    await request("hello", "Hello.")
    for task in (busy, *crowd):
        task.cancel()
    assert order == ["busy", "hello"]


async def test_the_lowest_claim_goes_first() -> None:
    turns = Turns(slots=1)
    busy = await turns.take(0)
    order: list[int] = []

    async def wait(claim: int) -> None:
        turn = await turns.take(claim)
        order.append(claim)
        turns.give_back(turn)

    waiting = [asyncio.create_task(wait(claim)) for claim in (5, 0, 3)]
    await asyncio.sleep(0)
    turns.give_back(busy)
    await asyncio.gather(*waiting)
    assert order == [0, 3, 5]


def test_a_stream_holds_little_and_a_refused_one_nothing() -> None:
    stream = TextStream(max_chars=60_000)
    given = stream.add("word " * 10_000)  # 50,000 characters, no sentence end
    assert sum(map(len, given)) > 49_000  # handed on, to be cut into pieces
    assert stream.add("and then some") == []  # held: the sentence may go on
    with pytest.raises(TtsError, match="longer than 60000 characters"):
        stream.add("x" * 10_000)
    assert stream.finish() == []  # the refused stream's text is gone


async def test_a_new_stream_stops_the_one_before(tts: TextToSpeech) -> None:
    written: list[str] = []

    async def write(event: Event) -> None:
        written.append(event.type)

    async def failed(error: Exception) -> None:
        raise AssertionError(error)

    engines = SimpleNamespace(tts=tts, settings=tts.settings)
    speaking = Speaking(engines, write, failed, trusted=True)  # type: ignore[arg-type]
    await speaking.start(None, None)
    speaking.add(UNPUNCTUATED)
    first = speaking._task
    await speaking.start(None, None)
    assert first is not None
    assert first.cancelled()  # not left speaking, nor waiting on its queue
    speaking.add("Hello.")
    await speaking.stop()
    assert written[-2:] == ["audio-stop", "synthesize-stopped"]


async def test_the_pause_comes_between_sentences_never_after_the_last(
    tts: TextToSpeech,
) -> None:
    info, _ = tts.resolve(None)
    pause = int(tts.settings.tts_sentence_silence * info.sample_rate) * 2
    pieces = [pcm async for pcm in tts.synthesize(info, None, ["Hello.", "Goodbye."])]
    assert pieces[0][-pause:] != bytes(pause)  # no silence added after a piece
    assert pieces[1][:pause] == bytes(pause)  # the pause before the next one
    later = [
        pcm async for pcm in tts.synthesize(info, None, ["Hi."], after_speech=True)
    ]
    assert later[0][:pause] == bytes(pause)  # a stream's next batch: still a pause
