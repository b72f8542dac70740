"""Short answers said again from memory: bounded, for the home only, never waiting for a turn."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

from wyoming_services.settings import Settings
from wyoming_services.spoken_cache import MOST_PHONEMES, SpokenCache
from wyoming_services.tts import TextToSpeech

ANSWER = "Turned on the light."


@pytest.fixture
def tts_settings() -> Settings:
    """One synthesis thread: a run holding it holds every other run."""
    return Settings(tts_workers=1)


@pytest.fixture
def piper_runs(tts: TextToSpeech) -> list[int]:
    """The phoneme ids of every run that reached Piper."""
    voice = tts._loaded[tts.default_voice]
    to_audio = voice.phoneme_ids_to_audio
    made: list[int] = []

    def counted(ids: list[int], *args: Any, **kwargs: Any) -> Any:
        made.append(len(ids))
        return to_audio(ids, *args, **kwargs)

    voice.phoneme_ids_to_audio = counted
    return made


async def said(tts: TextToSpeech, text: str, *, trusted: bool = True) -> bytes:
    """The PCM of text, asked by a trusted client or a stranger."""
    info, _ = tts.resolve(None)
    return b"".join(
        [piece async for piece in tts.synthesize(info, None, [text], trusted=trusted)]
    )


def _audio(samples: int) -> np.ndarray:
    return np.linspace(-1, 1, samples, dtype=np.float32)


def test_the_least_recent_runs_go_first_within_the_bound() -> None:
    cache = SpokenCache(most_bytes=3 * 4000)
    keys = [SpokenCache.key("voice", None, [str(n)]) for n in range(4)]
    for key in keys[:3]:
        cache.put(key, _audio(1000))
    assert cache.get(keys[0]) is not None  # now the most recent
    cache.put(keys[3], _audio(1000))
    assert cache.get(keys[1]) is None
    assert [cache.get(k) is not None for k in (keys[0], keys[2], keys[3])] == [True] * 3
    assert cache.bytes == 3 * 4000
    assert len(cache) == 3


def test_long_runs_and_audio_past_the_bound_are_not_kept() -> None:
    cache = SpokenCache(most_bytes=4000)
    assert SpokenCache.key("voice", None, ["a"] * (MOST_PHONEMES + 1)) is None
    big = SpokenCache.key("voice", None, ["a"])
    cache.put(big, _audio(1001))
    assert cache.get(big) is None
    assert cache.bytes == 0


def test_what_is_kept_is_a_copy_no_one_can_change() -> None:
    cache = SpokenCache()
    key = SpokenCache.key("voice", 2, ["h", "i"])
    audio = _audio(100)
    cache.put(key, audio)
    audio[:] = 0
    kept = cache.get(key)
    assert kept is not None
    assert kept[0] == -1.0
    with pytest.raises(ValueError, match="read-only"):
        kept[0] = 0
    assert cache.get(SpokenCache.key("voice", 3, ["h", "i"])) is None  # another speaker


async def test_an_answer_said_again_needs_no_run(
    tts: TextToSpeech, piper_runs: list[int]
) -> None:
    first = await said(tts, ANSWER)
    again = await said(tts, ANSWER)
    assert len(piper_runs) == 1
    assert again == first
    assert tts.spoken.hits == 1


async def test_a_stranger_never_hears_the_homes_answers_from_memory(
    tts: TextToSpeech, piper_runs: list[int]
) -> None:
    """The attack: a stranger times "Unlocked the front door." to learn the home just heard it."""
    await said(tts, "Unlocked the front door.")
    await said(tts, "Unlocked the front door.", trusted=False)
    assert len(piper_runs) == 2
    # Nor does a stranger's run fill the home's memory.
    await said(tts, "Good night.", trusted=False)
    await said(tts, "Good night.")
    assert len(piper_runs) == 4
    assert tts.spoken.hits == 0


async def test_an_answer_said_again_does_not_wait_for_a_run_in_progress(
    tts: TextToSpeech,
) -> None:
    await said(tts, ANSWER)
    voice = tts._loaded[tts.default_voice]
    to_audio = voice.phoneme_ids_to_audio
    running, release = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        running.set()
        release.wait(30)
        return to_audio(*args, **kwargs)

    voice.phoneme_ids_to_audio = held
    long = asyncio.create_task(said(tts, "The weather is fine all day long."))
    try:
        await asyncio.to_thread(running.wait, 30)
        answer = await asyncio.wait_for(said(tts, ANSWER), 10)
        assert answer
        assert not long.done()  # the only thread is still held
    finally:
        release.set()
        await long
