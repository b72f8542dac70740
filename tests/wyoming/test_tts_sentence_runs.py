"""A sentence's clauses reach Piper in as few runs as the run limit allows."""

from __future__ import annotations

from wyoming_services.tts import TextToSpeech
from wyoming_services.tts_text import MAX_PHONEMES
from wyoming_services.tts_turns import BACKGROUND, BACKGROUND_RUN, SentenceRuns

from .piper_spy import PiperSpy, spoken_seconds


def word(phonemes: int) -> list[str]:
    """One word of that many phonemes."""
    return ["a"] * phonemes


def clause(words: int, size: int = 5) -> list[str]:
    """Words of size phonemes, a space between each."""
    spoken: list[str] = []
    for _ in range(words):
        spoken += [" ", *word(size)] if spoken else word(size)
    return spoken


def test_clauses_that_fit_one_run_go_as_one() -> None:
    runs = SentenceRuns(served=0)
    assert runs.add([clause(5)]) == []  # 29 phonemes: more may follow
    assert runs.add([clause(5)]) == []
    assert runs.finish() == [(clause(10), 59)]  # a space joins them


def test_a_run_is_cut_at_a_word_once_past_the_limit() -> None:
    runs = SentenceRuns(served=0)
    taken = runs.add([clause(30)])  # 179 phonemes
    taken += runs.finish()
    assert [len(run) for run, _ in taken] == [95, 83]  # 16 words, then 14
    assert all(len(run) <= MAX_PHONEMES and run[-1] != " " for run, _ in taken)
    assert [claim for _, claim in taken] == [95, 178]


def test_a_request_past_background_is_cut_short() -> None:
    runs = SentenceRuns(served=BACKGROUND)
    taken = runs.add([clause(10)]) + runs.finish()
    assert max(len(run) for run, _ in taken) <= BACKGROUND_RUN
    assert taken[-1][1] == BACKGROUND + sum(len(run) for run, _ in taken)


def test_espeaks_sentences_within_a_piece_join_the_run() -> None:
    runs = SentenceRuns(served=0)
    assert runs.add([clause(2), [], clause(3)]) == []
    assert runs.finish() == [(clause(5), 29)]


async def test_a_long_sentences_clauses_go_to_piper_in_few_runs(
    tts: TextToSpeech,
) -> None:
    spy = PiperSpy(tts)
    sentence = (
        "The living room is at twenty one degrees, the kitchen is a little warmer, "
        "and the bedroom window has been open since this morning, so it is cooler there."
    )
    await spoken_seconds(tts, sentence)
    assert len(spy.texts) == 3  # three clauses, each phonemized
    assert len(spy.ids) == 2  # in two runs of Piper (one each before)
