"""A request's next run is made while its audio is sent, and stops when the request does."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import pytest

from tests.conftest import wait_until
from wyoming_services.tts import TextToSpeech

pytestmark = pytest.mark.slow
THREE = "Turn on the hallway light. Open the garage door. Close the kitchen blinds."


class Held:
    """Piper's runs of a voice, each started, ended or stopped: the second held until let go."""

    def __init__(self, tts: TextToSpeech) -> None:
        """Watch the default voice's runs."""
        self.voice = tts._loaded[tts.default_voice]
        self.to_audio = self.voice.phoneme_ids_to_audio
        self.started: list[float] = []
        self.ended: list[str] = []
        self.second = threading.Event()
        self.let_go = threading.Event()
        self.voice.phoneme_ids_to_audio = self.run

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """A run of Piper's, recorded."""
        self.started.append(time.monotonic())
        if len(self.started) == 2:
            self.second.set()
            self.let_go.wait(30)
        try:
            audio = self.to_audio(*args, **kwargs)
        except Exception:
            self.ended.append("stopped")
            raise
        self.ended.append("made")
        return audio


async def test_the_next_run_starts_before_this_runs_audio_is_used(
    tts_making_every_run: TextToSpeech,
) -> None:
    held = Held(tts_making_every_run)
    held.let_go.set()
    info, _ = tts_making_every_run.resolve(None)
    used: list[float] = []
    async with contextlib.aclosing(
        tts_making_every_run.synthesize(info, None, [THREE])
    ) as audio:
        async for _ in audio:
            used.append(time.monotonic())
            await asyncio.sleep(0.3)  # a slow client reading the audio
    assert len(held.started) == 3
    assert len(used) >= 3  # each run's windows, as they were made
    # Each next run began while the client still read the audio before it.
    for start in held.started[1:]:
        read = max(use for use in used if use <= start)
        assert start < read + 0.3
        assert start < used[-1]


async def test_a_request_that_stops_stops_its_run_in_progress(
    tts_making_every_run: TextToSpeech,
) -> None:
    tts = tts_making_every_run
    held = Held(tts)
    info, _ = tts.resolve(None)
    async with contextlib.aclosing(tts.synthesize(info, None, [THREE])) as audio:
        while not held.second.is_set():  # the first run's windows, read
            assert await anext(audio)
            await asyncio.to_thread(held.second.wait, 1)  # the next run, under way
    held.let_go.set()  # the client left meanwhile: onnxruntime ends the run at once
    await wait_until(lambda: not tts._turns._running, 30)
    assert held.ended == ["made", "stopped"]
    assert len(held.started) == 2  # and no run after it
    # The slot is free for the next request.
    async with contextlib.aclosing(tts.synthesize(info, None, ["Hello."])) as hello:
        assert [pcm async for pcm in hello]
