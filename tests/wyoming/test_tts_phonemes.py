"""Piper's turns and memory count phonemes: a CJK or emoji text is cut and charged as it reads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tests.conftest import wait_until
from wyoming_services.settings import Settings
from wyoming_services.speech_memory import run_size
from wyoming_services.tts import TextToSpeech
from wyoming_services.tts_text import MAX_PHONEMES

pytestmark = pytest.mark.slow

# A stranger's 400 characters of CJK: five sentences of some 1,200 phonemes (60 s) each.
CJK = ". ".join(["中" * 79] * 5) + "."
ANSWER = "The weather today is sunny with a high of twenty four degrees."


@pytest.fixture
def tts_settings() -> Settings:
    """Two synthesis threads."""
    return Settings(tts_workers=2)


async def test_an_answer_beside_cjk_texts_waits_for_one_run_not_a_piece(
    tts: TextToSpeech,
) -> None:
    """HA's answer beside two strangers' CJK texts waits for one short run of theirs."""
    voice = tts._loaded[tts.default_voice]
    to_audio = voice.phoneme_ids_to_audio
    started, answer_asked = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        started.set()  # the first stranger's first run holds Piper
        answer_asked.wait(30)
        return to_audio(*args, **kwargs)

    voice.phoneme_ids_to_audio = held
    info, _ = tts.resolve(None)
    heard: list[tuple[str, float]] = []

    async def request(name: str, text: str) -> None:
        async for pcm in tts.synthesize(info, None, [text]):
            heard.append((name, len(pcm) / 2 / info.sample_rate))
            if name == "answer":
                return

    strangers = [asyncio.create_task(request("stranger", CJK)) for _ in range(2)]
    await asyncio.to_thread(started.wait, 30)
    answer = asyncio.create_task(request("answer", ANSWER))
    turns = tts._turns
    # The answer waits for a turn: the strangers' runs hold both threads.
    await wait_until(
        lambda: any(not a.grant.done() and not a.stranger for a in turns._waiting)
    )
    answer_asked.set()
    await asyncio.wait_for(answer, 60)
    for task in strangers:
        task.cancel()
    first = next(i for i, (name, _) in enumerate(heard) if name == "answer")
    before = sum(seconds for _, seconds in heard[:first])
    # One run of 96 phonemes is ~5 s of speech; a whole CJK piece was 60 s.
    assert before < 10


async def test_a_cjk_piece_is_made_in_runs_charged_by_their_phonemes(
    tts_making_every_run: TextToSpeech,
) -> None:
    """An 80-character CJK piece reaches Piper in bounded runs, each charged what it reads."""
    tts = tts_making_every_run
    voice = tts._loaded[tts.default_voice]
    to_ids = voice.phonemes_to_ids
    runs: list[tuple[int, int]] = []

    def recorded(phonemes: list[str]) -> Any:
        runs.append((len(phonemes), tts._turns._memory.text))
        return to_ids(phonemes)

    voice.phonemes_to_ids = recorded
    info, _ = tts.resolve(None)
    async for _ in tts.synthesize(info, None, ["中" * 80]):
        pass
    assert sum(phonemes for phonemes, _ in runs) > 1000
    assert all(phonemes <= MAX_PHONEMES for phonemes, _ in runs)
    # As the budget counts: one decoder window at most.
    assert all(held == run_size(phonemes, windowed=True) for phonemes, held in runs)
