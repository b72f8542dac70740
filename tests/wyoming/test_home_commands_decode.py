"""Every decode pass goes through the home's command language once the home's names are known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from wyoming_services.authority import Authority
from wyoming_services.home_language import HomeNames
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText, _Decoder
from wyoming_services.turn_end import COMPLETE_SECONDS, Said, quiet_needed

from .whisper_fakes import Segment

NAMES = HomeNames((("Nanoleaf panels", "light"),), ("Kitchen",))
AUDIO = np.zeros(16000, dtype=np.float32)


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


class ReadsThePromptBack:
    """A model that writes the prompt's names when it has one (as tiny.en did for flite)."""

    def __init__(self) -> None:
        self.prompts: list[str | None] = []

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Segment], None]:
        self.prompts.append(options["initial_prompt"])
        heard = "Lutron dimmer," if options["initial_prompt"] else "Lock the answer in."
        return [Segment(heard)], None


def test_the_prompt_read_back_is_decoded_again_without_it() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    engine.set_vocabulary(["Lutron dimmer", "Kitchen"], NAMES)
    model = ReadsThePromptBack()
    result = engine._decode(_Decoder(model, 1), AUDIO, "en")
    assert (result.text, result.intent) == ("Lock the answer in.", None)
    assert model.prompts == [engine.prompt, None]
    assert engine.counters.prompt_echoes == 1


class HearsNamesInNoise:
    """A model that hears nothing, then on a second look the prompt's names, if it has one."""

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Segment], None]:
        second_look = options.get("no_speech_threshold", 0.6) is None
        heard = "Lutron dimmer," if second_look and options["initial_prompt"] else ""
        return [Segment(heard)], None


class RepeatsAfterSampling:
    """A model whose fallback temperatures all repeat a word: faster-whisper returns the likeliest."""

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Segment], None]:
        if options.get("no_speech_threshold", 0.6) is None:
            return [Segment(" Beeping.", no_speech_prob=0.5)], None
        return [Segment(" beep" * 112, compression_ratio=29.3)], None


def test_a_word_repeated_after_every_temperature_is_never_the_transcript() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    result = engine._decode(_Decoder(RepeatsAfterSampling(), 1), AUDIO, "en")
    assert result.text == "Beeping."


class SamplesATone:
    """A model that hears no speech in a tone, but whose sampling at 0.8 makes words of it."""

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Segment], None]:
        if options.get("no_speech_threshold", 0.6) is None:
            return [
                Segment(" beep" * 12, no_speech_prob=0.8, compression_ratio=29.3)
            ], None
        beeps = " Beep, beep, beep, beep, beep, beep."
        return [Segment(beeps, no_speech_prob=0.8, temperature=0.8)], None


def test_words_sampled_from_what_the_model_heard_as_no_speech_are_dropped() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    result = engine._decode(_Decoder(SamplesATone(), 1), AUDIO, "en")
    assert result.text == ""


class Sampled:
    """A model that hears one segment, found by sampling."""

    def __init__(self, segment: Segment) -> None:
        self.segment = segment

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Segment], None]:
        return [self.segment], None


@pytest.mark.parametrize(
    "segment",
    [
        # Piper's "Stop." under noise at 10 dB: the model heard no speech, its sample did.
        Segment(" Stop.", no_speech_prob=0.85, temperature=0.4),
        # A noisy command the model heard as speech (0.59 at most, measured).
        Segment(" Turn on the Christmas trees.", no_speech_prob=0.59, temperature=1.0),
    ],
    ids=["one word from noise", "speech"],
)
def test_words_sampled_once_are_kept(segment: Segment) -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    result = engine._decode(_Decoder(Sampled(segment), 1), AUDIO, "en")
    assert result.text == segment.text.strip()


def test_names_read_into_noise_on_a_second_look_make_no_command() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    engine.set_vocabulary(["Lutron dimmer", "Kitchen"], NAMES)
    result = engine._decode(_Decoder(HearsNamesInNoise(), 1), AUDIO, "en")
    assert (result.text, result.intent) == ("", None)


class Prompted:
    """A model that hears the same words, recording the prompt of each decode."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.prompts: list[str | None] = []

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Segment], None]:
        self.prompts.append(options["initial_prompt"])
        return [Segment(self.text)], None


async def test_a_strangers_transcript_names_none_of_the_homes_devices() -> None:
    """The attack: a stranger on the public port says a guessed name and reads the home's spelling back."""
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    engine.set_vocabulary(["Kitchen", "Nanoleaf panels"], NAMES)
    model = Prompted(" Turn on the nano leaf panel.")
    engine._solo = _Decoder(model, 1)
    engine.ready.set()
    try:
        home = await engine.transcribe(AUDIO, "en", requester=Authority("ha", True))
        guess = await engine.transcribe(AUDIO, "en", requester=Authority("x", False))
    finally:
        await engine.close()
    assert (home.text, home.intent) == ("Turn on the Nanoleaf panels.", "HassTurnOn")
    assert model.prompts == [engine.prompt, None]
    assert (guess.text, guess.intent, guess.corrected) == (
        "Turn on the nano leaf panel.",
        None,
        False,
    )
    # Nor does a right guess end the stranger's turn sooner than any sentence would.
    assert quiet_needed(Said(home.text, home.intent is not None)) == COMPLETE_SECONDS
    assert quiet_needed(Said(guess.text, guess.intent is not None)) == quiet_needed(
        Said(guess.text)
    )
