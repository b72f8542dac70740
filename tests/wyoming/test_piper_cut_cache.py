"""Piper's cut graphs kept between starts: used when the voice file is the same, made again when not."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wyoming_services.piper_cut_cache import CUT_FILE, CutCache, entry_name
from wyoming_services.piper_graph import DECODER_TAIL_FILE, ENCODER, Cut, cut
from wyoming_services.piper_session import piper_session
from wyoming_services.settings import Settings
from wyoming_services.tts import TextToSpeech

from .onnx_graphs import scaling_voice, session

X = np.random.default_rng(2).standard_normal((1, 2, 300)).astype(np.float32)


@pytest.fixture
def cuts(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The voices cut (piper_graph.cut called) from now on."""
    made: list[Path] = []

    def counted(model_path: Path, folder: Path) -> Cut | None:
        made.append(model_path)
        return cut(model_path, folder)

    monkeypatch.setattr("wyoming_services.piper_session.cut", counted)
    return made


def _heard(model: Path, cache: CutCache | None) -> Any:
    voice = piper_session(model, cache)
    assert voice.windowed
    (heard,) = voice.run(None, {"x": X})
    return heard


def test_a_voice_cut_once_is_not_cut_at_the_next_start(
    tmp_path: Path, cuts: list[Path]
) -> None:
    model = scaling_voice(tmp_path / "voice.onnx", 3.0)
    cache = CutCache(tmp_path / "cut")
    first = _heard(model, cache)
    again = _heard(model, cache)
    assert cuts == [model]
    (whole,) = session(model).run(None, {"x": X})
    assert np.array_equal(first, whole)
    assert np.array_equal(again, whole)
    assert [p.name for p in cache.folder.iterdir()] == [entry_name(model)]


def test_a_voice_changed_in_place_is_cut_again_and_the_old_cut_dropped(
    tmp_path: Path, cuts: list[Path]
) -> None:
    model = scaling_voice(tmp_path / "voice.onnx", 3.0)
    cache = CutCache(tmp_path / "cut")
    _heard(model, cache)
    before = entry_name(model)
    scaling_voice(model, 5.0)  # a new version of the voice, same file name
    os.utime(model, ns=(1, 1))  # a time of change of its own on any file system
    heard = _heard(model, cache)
    assert np.allclose(heard, -5.0 * X)
    assert len(cuts) == 2
    cache.prune([model])
    assert [p.name for p in cache.folder.iterdir()] == [entry_name(model)] != [before]


def test_a_kept_cut_that_cannot_be_loaded_is_cut_again(
    tmp_path: Path, cuts: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    model = scaling_voice(tmp_path / "voice.onnx", 3.0)
    cache = CutCache(tmp_path / "cut")
    _heard(model, cache)
    (cache.folder / entry_name(model) / ENCODER).write_bytes(b"half a file")
    with caplog.at_level(logging.WARNING):
        heard = _heard(model, cache)
    assert np.allclose(heard, -3.0 * X)
    assert "its kept cut cannot be loaded" in caplog.text
    _heard(model, cache)  # the new cut was kept
    assert len(cuts) == 2


@pytest.mark.parametrize(
    "kept_before",
    [
        pytest.param({"latent.txt": "z"}, id="an older version's cut"),
        pytest.param({CUT_FILE: "{not json"}, id="a broken record"),
        pytest.param({CUT_FILE: b"\xff\xfe"}, id="not UTF-8"),
        pytest.param(
            {CUT_FILE: Cut("z", 3, "/dec/act_output", 2, 3).dumps()},
            id="cut twice, its tail missing",
        ),
    ],
)
def test_a_folder_that_is_not_a_whole_cut_is_cut_again_and_replaced(
    tmp_path: Path, cuts: list[Path], kept_before: dict[str, str | bytes]
) -> None:
    model = scaling_voice(tmp_path / "voice.onnx", 3.0)
    cache = CutCache(tmp_path / "cut")
    _heard(model, cache)
    entry = cache.folder / entry_name(model)
    (entry / CUT_FILE).unlink()
    for name, text in kept_before.items():
        (entry / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    assert not (entry / DECODER_TAIL_FILE).exists()
    assert np.allclose(_heard(model, cache), -3.0 * X)
    assert Cut.loads((entry / CUT_FILE).read_text()) == Cut("z", context=1)
    _heard(model, cache)  # the new cut was kept in its place
    assert len(cuts) == 2


def test_a_cache_that_cannot_be_written_still_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = scaling_voice(tmp_path / "voice.onnx", 3.0)
    blocked = tmp_path / "a file"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING):
        heard = _heard(model, CutCache(blocked / "cut"))
    assert np.allclose(heard, -3.0 * X)
    assert "each start cuts them anew" in caplog.text


def test_pruning_keeps_only_the_voices_offered(tmp_path: Path) -> None:
    cache = CutCache(tmp_path / "cut")
    kept = scaling_voice(tmp_path / "kept.onnx", 3.0)
    gone = scaling_voice(tmp_path / "gone.onnx", 4.0)
    _heard(kept, cache)
    _heard(gone, cache)
    (cache.folder / "cutting-left-by-a-crash").mkdir()
    gone.unlink()
    cache.prune([kept, gone])
    assert [p.name for p in cache.folder.iterdir()] == [entry_name(kept)]


def test_pruning_never_touches_what_the_cache_did_not_make(tmp_path: Path) -> None:
    """A folder set by hand to one holding the user's voices: they stay."""
    cache = CutCache(tmp_path)
    voice = scaling_voice(tmp_path / "mine.onnx", 3.0)
    (tmp_path / "more-voices").mkdir()
    (tmp_path / "more-voices" / "other.onnx").write_bytes(b"a voice")
    _heard(voice, cache)
    cache.prune([])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.onnx", "more-voices"]


async def test_the_server_cuts_its_voice_once_across_starts(
    tmp_path: Path, cuts: list[Path]
) -> None:
    """The bundled voice, loaded twice as two starts of the server load it."""
    settings = Settings(tts_cut_folder=str(tmp_path / "cut"), tts_workers=1)
    for _ in range(2):
        tts = TextToSpeech(settings)
        await tts.load()
        try:
            assert tts.voices
            assert tts._loaded[tts.default_voice].session.windowed
        finally:
            await tts.close()
    assert len(cuts) == 1
    assert len(list((tmp_path / "cut").iterdir())) == 1
