"""Wake words heard by the bundled microWakeWord models, per stream."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from wyoming_services.audio import Pace
from wyoming_services.wake import RATE, Detector, WakeError, bundled, chosen

from .voices import speak


def said(voice: str, text: str, rate: int = RATE) -> bytes:
    """The text in that voice at that rate, between a second of silence on each side."""
    pcm, spoken = speak(voice, text)
    audio = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768
    audio = soxr.resample(audio, spoken, rate) if spoken != rate else audio
    silence = np.zeros(rate, np.float32)
    padded = np.concatenate([silence, audio, silence])
    return bytes((np.clip(padded, -1, 1) * 32767).astype(np.int16).tobytes())


def hear(detector: Detector, pcm: bytes, chunk: int = 640) -> list[str]:
    """Feed the clip in satellite-sized chunks; every wake word reported."""
    heard = []
    for start in range(0, len(pcm), chunk):
        if (word := detector.feed(pcm[start : start + chunk])) is not None:
            heard.append(word)
    return heard


def test_the_bundled_words_are_offered() -> None:
    """The four models of pymicro-wakeword, each with its phrase and languages."""
    assert {(word.id, word.phrase) for word in bundled()} == {
        ("alexa", "Alexa"),
        ("hey_jarvis", "Hey Jarvis"),
        ("hey_mycroft", "Hey Mycroft"),
        ("okay_nabu", "Okay Nabu"),
    }
    assert all("en" in word.languages for word in bundled())


@pytest.mark.parametrize(
    ("voice", "text", "word"),
    [
        ("espeak-ng", "Okay Nabu", "okay_nabu"),
        ("flite-awb", "Okay Nabu", "okay_nabu"),
        ("espeak-ng", "Alexa", "alexa"),
        ("flite-slt", "Hey Jarvis", "hey_jarvis"),
    ],
)
def test_a_wake_word_is_heard_once(voice: str, text: str, word: str) -> None:
    """Said once, reported once, even in chunks that split the models' 10 ms frames."""
    detector = Detector(chosen(None))
    assert hear(detector, said(voice, text), chunk=334) == [word]
    detector.close()


def test_only_the_words_asked_for_are_reported() -> None:
    """A stream that waits for "Hey Jarvis" does not wake on "Alexa"."""
    detector = Detector(chosen(["hey_jarvis"]))
    assert hear(detector, said("espeak-ng", "Alexa")) == []
    assert hear(detector, said("flite-slt", "Hey Jarvis")) == ["hey_jarvis"]


def test_ordinary_speech_wakes_nothing() -> None:
    """Commands and chatter are not wake words."""
    detector = Detector(chosen(None))
    for text in ("Turn on the kitchen light", "What is the weather like tomorrow"):
        assert hear(detector, said("espeak-ng", text)) == []


def test_said_twice_in_one_stream_is_heard_twice() -> None:
    """A satellite that streams on hears the next wake word after the quiet period."""
    detector = Detector(chosen(["alexa"]))
    clip = said("espeak-ng", "Alexa")
    assert hear(detector, clip + clip) == ["alexa", "alexa"]


def test_an_unknown_wake_word_is_refused_by_name() -> None:
    """Asking for a word the server does not have names it."""
    with pytest.raises(WakeError, match="'hey_siri'"):
        chosen(["okay_nabu", "hey_siri"])


def test_a_satellite_in_real_time_after_a_buffered_start_never_waits() -> None:
    """Two buffered seconds at once, then 20 ms chunks as they are heard: no pause."""
    now = [0.0]
    pace = Pace(clock=lambda: now[0])
    assert pace.wait(2.0) == 0
    for _ in range(500):
        now[0] += 0.02
        assert pace.wait(0.02) == 0


def test_audio_sent_faster_than_it_plays_waits_past_the_burst() -> None:
    """1-s chunks back to back: past the 2-s burst, each waits to come at 1.5x real time."""
    now = [0.0]
    pace = Pace(clock=lambda: now[0])
    assert [pace.wait(1.0) for _ in range(2)] == [0, 0]
    assert pace.wait(1.0) == pytest.approx(1 / 1.5)
    assert pace.wait(1.0) == pytest.approx(2 / 1.5)
