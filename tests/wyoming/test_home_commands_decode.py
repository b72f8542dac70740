"""Every decode pass goes through the home's command language once the home's names are known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wyoming_services.home_language import HomeNames
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText, _Decoder

NAMES = HomeNames((("Nanoleaf panels", "light"),), ("Kitchen",))
AUDIO = np.zeros(16000, dtype=np.float32)


@dataclass
class Segment:
    text: str


class Heard:
    """A model that always hears the same words."""

    def __init__(self, text: str) -> None:
        self.text = text

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Segment], None]:
        return [Segment(self.text)], None


def decode(engine: SpeechToText, heard: str) -> tuple[str, str | None, bool]:
    result = engine._decode(_Decoder(Heard(heard), 1), AUDIO, "en")
    return result.text, result.intent, result.corrected


def test_a_misheard_name_comes_out_as_the_command() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    assert decode(engine, " Turned on the nano leaf panels.") == (
        " Turned on the nano leaf panels.".strip(),
        None,
        False,
    )  # no names yet: as heard
    engine.set_vocabulary(["Kitchen", "Nanoleaf panels"], NAMES)
    assert decode(engine, " Turned on the nano leaf panels.") == (
        "Turn on the Nanoleaf panels.",
        "HassTurnOn",
        True,
    )
    assert decode(engine, " Tell me a joke.") == ("Tell me a joke.", None, False)


def test_home_commands_can_be_turned_off() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1, stt_home_commands=False))
    engine.set_vocabulary(["Kitchen", "Nanoleaf panels"], NAMES)
    assert decode(engine, " Turned on the nano leaf panels.") == (
        "Turned on the nano leaf panels.",
        None,
        False,
    )
