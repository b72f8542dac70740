"""The encoder's window: short audio is encoded in a shorter window, the rest silence's encoding."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from faster_whisper import WhisperModel
import numpy as np
import pytest

from tests.conftest import ServerProcess
from wyoming_services.settings import Settings, SettingsError
from wyoming_services.whisper_window import WindowedWhisper

from .client import TtsAudio, transcribe
from .phrases import SENTENCES, word_errors


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shapes WhisperModel.encode was given; a position: its frames' mean plus the call's number (no model)."""
    shapes: list[tuple[int, ...]] = []

    def encode(self: Any, features: np.ndarray) -> np.ndarray:
        shapes.append(features.shape)
        pairs = features.mean(axis=0).reshape(1, -1, 2).mean(axis=2)
        return np.repeat(pairs[..., None] + len(shapes), 4, axis=2).astype(np.float32)

    monkeypatch.setattr(WhisperModel, "encode", encode)
    return shapes


def window(seconds: float, *, silence_after: bool = False) -> WindowedWhisper:
    model = WindowedWhisper.__new__(WindowedWhisper)
    model.window(seconds, silence_after=silence_after)
    return model


def padded(frames: int) -> np.ndarray:
    """Features as faster-whisper hands them over: audio, then zeros up to 30 s."""
    features = np.zeros((80, 3000), dtype=np.float32)
    features[:, :frames] = -0.5
    return features


@pytest.mark.parametrize(
    ("seconds", "audio_frames", "encoded_frames"),
    [(15, 200, 1500), (15, 2400, 2400), (30, 200, 3000), (10, 0, 1000)],
)
def test_the_encoder_sees_the_audio_and_the_window_at_least(
    encoded: list[tuple[int, ...]],
    seconds: float,
    audio_frames: int,
    encoded_frames: int,
) -> None:
    window(seconds).encode(padded(audio_frames))
    assert encoded == [(80, encoded_frames)]


def test_the_window_is_made_whole_with_the_encoding_of_silence(
    encoded: list[tuple[int, ...]],
) -> None:
    model = window(10, silence_after=True)
    first = np.asarray(model.encode(padded(1201)))
    second = np.asarray(model.encode(padded(200)))
    # Whole positions of the audio, the silent window once, then the 10 s.
    assert encoded == [(80, 1202), (80, 3000), (80, 1000)]
    assert first.shape == second.shape == (1, 1500, 4)
    assert (first[0, :600] == 0.5).all()  # the audio, first call
    assert (first[0, 601:] == 2).all()  # the silent window, second call
    assert (second[0, :100] == 2.5).all()
    assert (second[0, 100:500] == 3).all()  # the padding inside the 10 s
    assert (second[0, 500:] == 2).all()


def test_audio_filling_the_window_is_encoded_as_it_is(
    encoded: list[tuple[int, ...]],
) -> None:
    whole = np.asarray(window(10, silence_after=True).encode(padded(3000)))
    assert encoded == [(80, 3000)]
    assert whole.shape == (1, 1500, 4)


def test_the_window_is_10_to_30_seconds() -> None:
    assert Settings().stt_window_seconds == 10
    for wrong in (5, 31):
        with pytest.raises(SettingsError, match="stt_window_seconds must be 10 to 30"):
            Settings.load(["--stt-window-seconds", str(wrong)], {})


@pytest.mark.slow
async def test_a_server_with_a_short_window_still_hears_the_test_sentences(
    tmp_path: Path, spoken: dict[str, TtsAudio]
) -> None:
    server = ServerProcess("--stt-window-seconds", "15", log=tmp_path / "server.log")
    try:
        await asyncio.get_running_loop().run_in_executor(None, server.wait_ready)
        assert "15 s window" in server.log.read_text()
        errors = words = 0
        for sentence, _names in SENTENCES:
            clip = spoken[sentence]
            event, _, _ = await transcribe(server.uri, clip.pcm, clip.rate)
            e, n = word_errors(sentence, event.data["text"])
            errors, words = errors + e, words + n
        assert errors / words <= 0.10, f"WER {errors / words:.1%}"
    finally:
        server.stop()
