"""A run's audio goes window by window as Piper makes it, at one gain per voice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import threading
from typing import Any

import numpy as np
import pytest

from wyoming_services.audio import float_to_pcm16
from wyoming_services.piper_loudness import (
    CALIBRATED_PEAK,
    KNEE,
    MAX_GAIN,
    VoiceGains,
    scaled,
    voice_gain,
)
from wyoming_services.run_parts import RunParts
from wyoming_services.settings import Settings
from wyoming_services.tts import TextToSpeech

pytestmark = pytest.mark.slow
# One run of some 40 phonemes: several of the decoder's windows.
SENTENCE = "The living room is at twenty three degrees, and the door is shut."


@pytest.fixture
def tts_settings() -> Settings:
    """Piper's noise off: a run's audio is the same every time."""
    return Settings(tts_workers=1, tts_noise_scale=0.0, tts_noise_w_scale=0.0)


class FirstWindowHeld:
    """The voice's runs: each ended noted, the first window's thread held until let go."""

    def __init__(self, tts: TextToSpeech) -> None:
        """Watch the default voice's runs and windows."""
        self.voice = tts._loaded[tts.default_voice]
        self.ended: list[str] = []
        self.let_go = threading.Event()
        self._for_this_thread = self.voice.session.for_this_thread
        self._to_audio = self.voice.phoneme_ids_to_audio
        self.voice.session.for_this_thread = self.for_this_thread
        self.voice.phoneme_ids_to_audio = self.to_audio

    def for_this_thread(
        self, options: Any, deliver: Callable[[Any], None] | None = None
    ) -> None:
        """The server's deliver, held after its first window."""
        if deliver is None:
            self._for_this_thread(options, None)
            return
        windows = 0

        def held(part: Any) -> None:
            nonlocal windows
            deliver(part)
            windows += 1
            if windows == 1:
                self.let_go.wait(30)

        self._for_this_thread(options, held)

    def to_audio(self, *args: Any, **kwargs: Any) -> Any:
        """A run of Piper's, its end noted."""
        audio = self._to_audio(*args, **kwargs)
        self.ended.append("made")
        return audio


async def test_the_first_window_is_heard_before_the_run_ends(
    tts_making_every_run: TextToSpeech,
) -> None:
    held = FirstWindowHeld(tts_making_every_run)
    info, _ = tts_making_every_run.resolve(None)
    async with contextlib.aclosing(
        tts_making_every_run.synthesize(info, None, [SENTENCE])
    ) as audio:
        first = await asyncio.wait_for(anext(audio), 30)
        assert first
        assert held.ended == []  # the run's thread still holds its later windows
        held.let_go.set()
        rest = [part async for part in audio]
    assert rest  # its other windows
    assert held.ended == ["made"]


async def test_the_windows_are_the_run_whole_at_the_voices_gain(
    tts_making_every_run: TextToSpeech,
) -> None:
    tts = tts_making_every_run
    info, _ = tts.resolve(None)
    parts = [part async for part in tts.synthesize(info, None, [SENTENCE])]
    assert len(parts) > 1
    voice = tts._loaded[info.name]
    whole = voice.phoneme_ids_to_audio(
        voice.phonemes_to_ids(voice.phonemize(SENTENCE)[0]), tts._config(None)
    )
    gain = tts.gains.of(info.name, voice, None)
    assert b"".join(parts) == float_to_pcm16(scaled(whole, gain))


async def test_a_strangers_run_goes_whole(tts_making_every_run: TextToSpeech) -> None:
    """A stranger's run may be stopped and made again: its windows are never sent early."""
    tts = tts_making_every_run
    info, _ = tts.resolve(None)
    parts = [
        part async for part in tts.synthesize(info, None, [SENTENCE], trusted=False)
    ]
    trusted = [part async for part in tts.synthesize(info, None, [SENTENCE])]
    assert len(parts) == 1
    assert parts[0] == b"".join(trusted)


async def test_every_run_of_a_voice_at_one_gain(tts: TextToSpeech) -> None:
    info, _ = tts.resolve(None)
    voice = tts._loaded[info.name]
    gain = tts.gains.of(info.name, voice, None)
    assert voice_gain(voice) == gain  # Piper's noise off: the same every start
    peaks = []
    for text in ("Hello.", "Done!", SENTENCE, "Turned off the bedroom fan."):
        raw = voice.phoneme_ids_to_audio(
            voice.phonemes_to_ids(voice.phonemize(text)[0]), tts._config(None)
        )
        made = scaled(raw, gain)
        peaks.append(float(np.abs(made).max()))
        quiet = np.abs(raw) * gain <= KNEE
        np.testing.assert_allclose(made[quiet], raw[quiet] * gain, rtol=1e-6)
    # Not each brought to full scale, as Piper's own synthesize does.
    assert max(peaks) - min(peaks) > 0.05
    assert max(peaks) <= 1.0
    assert max(peaks) >= CALIBRATED_PEAK * 0.8


def test_loud_samples_bend_below_full_scale() -> None:
    loud = np.array([0.5, 0.9, 0.95, 1.2, 3.0, -3.0], np.float32)
    made = scaled(loud, 1.0)
    np.testing.assert_allclose(made[:2], loud[:2])
    assert np.all(np.abs(made) <= 1.0)
    assert np.all(np.diff(made[:5]) > 0)  # louder stays louder
    assert made[5] == -made[4]


class Toy:
    """A voice whose speakers speak at amplitudes 0, 0.1, 0.2, ... (runs counted)."""

    def __init__(self) -> None:
        """No runs yet."""
        self.runs = 0
        self.config = type("Config", (), {"phoneme_id_map": {c: [1] for c in "abc"}})

    def phonemize(self, text: str) -> list[list[str]]:
        """Three phonemes, one unknown to the voice."""
        return [["a", "b", "?"]]

    def phonemes_to_ids(self, phonemes: list[str]) -> list[int]:
        """One id a phoneme."""
        assert "?" not in phonemes  # unknown phonemes are left out
        return [1] * len(phonemes)

    def phoneme_ids_to_audio(self, ids: list[int], config: Any) -> Any:
        """A tone at the speaker's amplitude, whatever Piper's noise."""
        assert config.noise_scale == config.noise_w_scale == 0.0
        self.runs += 1
        return np.full(len(ids) * 100, 0.1 * (config.speaker_id or 0), np.float32)


def test_each_speaker_has_its_gain_measured_once() -> None:
    toy, gains = Toy(), VoiceGains()
    assert gains.of("toy", toy, 2) == pytest.approx(CALIBRATED_PEAK / 0.2)
    assert gains.of("toy", toy, 4) == pytest.approx(CALIBRATED_PEAK / 0.4)
    runs = toy.runs
    assert gains.of("toy", toy, 2) == pytest.approx(CALIBRATED_PEAK / 0.2)
    assert toy.runs == runs  # kept, not measured again


def test_a_silent_voice_is_never_made_loud() -> None:
    assert voice_gain(Toy(), 0) == 1.0  # silence: Piper's scale
    assert voice_gain(Toy(), None) == 1.0
    whisper = Toy()
    whisper.phoneme_ids_to_audio = lambda ids, config: np.full(9, 1e-6, np.float32)  # type: ignore[method-assign]
    assert voice_gain(whisper, 1) == MAX_GAIN


async def test_parts_waiting_come_as_one() -> None:
    """A reader slower than the run takes the rest in one piece, and the run is over."""
    parts = RunParts(asyncio.get_running_loop())
    parts.deliver(np.ones(2, np.float32))
    await asyncio.sleep(0)
    read = aiter(parts)
    assert list(await anext(read)) == [1, 1]
    for value in (2, 3):
        parts.deliver(np.full(2, value, np.float32))
    parts.end()
    await asyncio.sleep(0)
    assert list(await anext(read)) == [2, 2, 3, 3]
    with pytest.raises(StopAsyncIteration):
        await anext(read)
