"""How much quiet ends a turn, judged by what was said so far."""

from __future__ import annotations

import pytest

from wyoming_services.turn_end import (
    COMPLETE_SECONDS,
    OPEN_SECONDS,
    QUESTION_SECONDS,
    UNFINISHED_SECONDS,
    Said,
    quiet_needed,
)


@pytest.mark.parametrize(
    ("said", "seconds"),
    [
        (Said("Turn on the kitchen light.", command=True), COMPLETE_SECONDS),
        (Said("What's the weather like tomorrow?"), QUESTION_SECONDS),
        (Said("Why?"), OPEN_SECONDS),
        (Said("What is the weather in?"), UNFINISHED_SECONDS),
        (Said("Turn the lights off."), OPEN_SECONDS),
        (Said("Stop."), OPEN_SECONDS),
        (Said("Turn on the"), UNFINISHED_SECONDS),
        (Said("Turn on the..."), UNFINISHED_SECONDS),
        (Said("Set the thermostat to"), UNFINISHED_SECONDS),
        (Said("Turn off the lights in Zoë's room and"), UNFINISHED_SECONDS),
        (Said("Turn on,"), UNFINISHED_SECONDS),
        (Said(""), UNFINISHED_SECONDS),
    ],
)
def test_the_quiet_a_turn_needs(said: Said, seconds: float) -> None:
    assert quiet_needed(said) == seconds


def test_a_complete_command_ends_soonest_and_unfinished_words_latest() -> None:
    assert COMPLETE_SECONDS < QUESTION_SECONDS < OPEN_SECONDS < UNFINISHED_SECONDS
