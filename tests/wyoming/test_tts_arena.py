"""Piper's memory arenas: kept from run to run, bounded by the decoder's windows, not the text."""

from __future__ import annotations

import sys

import pytest

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
