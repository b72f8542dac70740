"""The home's command language: HA's sentences over the home's names, and what it corrects."""

from __future__ import annotations

import pytest

from wyoming_services.home_language import Heard, HomeLanguage, HomeNames

HOME = HomeNames(
    entities=(
        ("Nanoleaf panels", "light"), ("Zoë's bedroom lamp", "light"),
        ("reading light", "light"),  # an alias of Zoë's lamp
        ("Roborock", "vacuum"), ("thermostat", "climate"), ("front door", "lock"),
        ("garage door", "cover"), ("Shelly plug", "switch"),
        ("hall lamp", "light"), ("wall lamp", "light"),
    ),
    areas=("Kitchen", "Living Room", "Aoife's study"),
    floors=("Upstairs",),
)  # fmt: skip


@pytest.fixture(scope="module")
def home() -> HomeLanguage:
    language = HomeLanguage("en")
    language.set_names(HOME)
    return language


@pytest.mark.parametrize(
    ("said", "meant", "intent"),
    [
        ("Turn on the nano leaf panels.", "Turn on the Nanoleaf panels.", "HassTurnOn"),
        ("turn on zoe's bedroom lamp", "Turn on Zoë's bedroom lamp", "HassTurnOn"),
        ("Turn off the reading lite.", "Turn off the reading light.", "HassTurnOff"),
        ("Start the robo rock.", "Start the Roborock.", "HassVacuumStart"),
        ("Turn on the lights in the kitchn.", "Turn on the lights in the Kitchen.", "HassTurnOn"),
        ("Set the thermo stat to 21 degrees.", "Set the thermostat to 21 degrees.",
         "HassClimateSetTemperature"),
        ("Turn off the lights upstares.", "Turn off the lights Upstairs.", "HassTurnOff"),
        # A word of HA's sentences misheard, alone and with a name.
        ("Turned off the reading light.", "Turn off the reading light.", "HassTurnOff"),
        ("Turned on the lights up stairs.", "Turn on the lights Upstairs.", "HassTurnOn"),
        ("Open,Living Room curtains.", "Open living room curtains.", "HassTurnOn"),
    ],
)  # fmt: skip
def test_a_misheard_name_is_corrected_into_a_command(
    home: HomeLanguage, said: str, meant: str, intent: str
) -> None:
    assert home.hear(said) == Heard(meant, intent, corrected=True)


@pytest.mark.parametrize(
    "said",
    [
        "Turn on the Nanoleaf panels.",
        "Set the thermostat to 22 degrees.",
        "What time is it?",
    ],
)
def test_a_command_as_said_is_left_as_it_is(home: HomeLanguage, said: str) -> None:
    heard = home.hear(said)
    assert heard.text == said
    assert heard.intent is not None
    assert not heard.corrected


@pytest.mark.parametrize(
    "said",
    [
        "Tell me a joke.",
        "Who wrote the book Dune?",
        "What is the weather like tomorrow?",
        "I left the garage store open yesterday.",
        "Turn on the television.",  # no name is close enough
        "Why is the sky blue?",  # "who is ..." would only fill a wildcard
        "What is the humidity of Mars?",  # a name stands for its words, not a clause
        "Turn on the Shelly plug tonight.",  # ... and never swallows one
        "Turn off the reading light no.",
        # What guards the house is opened only on the words as heard.
        "Unlocked the front door?",
        "Turned on the reading light?",  # a question stays one
        "Look the front door.",
        "Opened the garage door.",
        "Unlock the front door tonight.",
        "",
    ],
)
def test_speech_that_is_no_command_is_never_rewritten(
    home: HomeLanguage, said: str
) -> None:
    assert home.hear(said) == Heard(said)


def test_a_name_between_two_alike_ones_is_left_alone(home: HomeLanguage) -> None:
    # "hall lamp" and "wall lamp" are as near to "ball lamp": neither is clearly meant.
    assert home.hear("Turn on the ball lamp.") == Heard("Turn on the ball lamp.")


def test_without_names_nothing_is_recognised() -> None:
    assert HomeLanguage("en").hear("Turn on the nano leaf panels.") == Heard(
        "Turn on the nano leaf panels."
    )


def test_a_language_without_templates_leaves_text_alone() -> None:
    language = HomeLanguage("tlh")
    language.set_names(HOME)
    assert language.hear("Turn on the nano leaf panels.").intent is None
