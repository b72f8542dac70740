"""Whisper's decodes on the server's malloc: memory reused within a decode, given back after."""

from __future__ import annotations

import sys

import pytest

from .server_malloc import run_script

# The server's malloc settings, the model loaded (and warmed: its heap given back),
# then one decode: what it left resident once the decoder is done, and the pages it
# mapped.
DECODES = """
import asyncio, resource
import numpy as np
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText

async def main():
    stt = SpeechToText(Settings(stt_cpu_threads=1, stt_beam_size=5))
    await stt.load()
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(16000 * 2) * 0.05).astype(np.float32)
    give_back_freed()
    before = rss()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    await stt.transcribe(audio, "en")
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    await stt.memory.giving_back
    await stt.close()
    print(rss() - before, faults)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def after_decodes() -> tuple[float, int]:
    """MiB a decode left resident; pages it mapped."""
    kept, faults = run_script(DECODES).split()
    return float(kept), int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_decode_leaves_nothing_resident(after_decodes: tuple[float, int]) -> None:
    assert after_decodes[0] < 20  # its 67 MiB kept in the heap otherwise


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_decode_reuses_its_memory(after_decodes: tuple[float, int]) -> None:
    assert after_decodes[1] < 60_000  # each block mapped anew: ~135,000 pages
