"""The vocabulary fitted into what Whisper keeps of its prompt, with the model's own tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from wyoming_services.vocabulary_prompt import (
    PROMPT_TOKENS,
    TokenCount,
    echoes_prompt,
    fit_prompt,
    token_counter,
)
from wyoming_services.whisper_model import bundled_model_path

AREAS = [f"Area{n} Room" for n in range(40)]


@pytest.fixture(scope="module")
def count() -> TokenCount:
    return token_counter(bundled_model_path())


def test_a_large_home_fits_and_keeps_the_names_ranked_first(count: TokenCount) -> None:
    ranked = [*AREAS, *(f"Gizmo{n} lamp" for n in range(960))]
    prompt = fit_prompt(ranked, count)
    assert prompt is not None
    assert count(prompt) <= PROMPT_TOKENS
    kept = prompt.removesuffix(".").split(", ")
    assert set(AREAS) <= set(kept)
    # The most important are last: a cut anywhere would take the least important first.
    assert kept[-1] == AREAS[0]


def test_a_phrase_that_brings_no_new_word_is_left_out(count: TokenCount) -> None:
    prompt = fit_prompt(["Kitchen", "Light", "kitchen light", "Zoë's lamp"], count)
    assert prompt == "Zoë's lamp, Light, Kitchen."


def test_a_shorter_phrase_further_down_still_fits(count: TokenCount) -> None:
    long = " ".join(f"Word{n}" for n in range(200))
    assert fit_prompt([long, "Pantry"], count) == "Pantry."


def test_without_a_tokenizer_the_estimate_is_on_the_safe_side(tmp_path: Path) -> None:
    estimate = token_counter(tmp_path)
    text = "Living room, Kitchen, Zoë's lamp, Hallway ceiling light."
    assert estimate(text) >= token_counter(bundled_model_path())(text)


PROMPT = "Lutron dimmer, Hallway, Kitchen light."


@pytest.mark.parametrize(
    "heard",
    ["Lutron dimmer,", "Lutron dimmer, Lutron dimmer,", "Dyson, Lutron dimmer, Hallway.",
     "Hallway, Kitchen light, before the event."],
)  # fmt: skip
def test_a_list_of_the_prompts_names_is_the_prompt_read_back(heard: str) -> None:
    assert echoes_prompt(heard, PROMPT)


@pytest.mark.parametrize(
    "heard",
    ["Turn on the Lutron dimmer.", "Turn off the lights in the hallway, please.",
     "Lock the answer in.", "", "Hallway dimmer.", "Hallway.", "Kitchen light?"],
)  # fmt: skip
def test_speech_that_names_things_is_not_an_echo(heard: str) -> None:
    assert not echoes_prompt(heard, PROMPT)
    assert not echoes_prompt("Lutron dimmer,", None)
