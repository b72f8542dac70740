"""The memory Whisper's decodes and Piper's runs hold at once: one budget for both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .heap import give_back_freed

# What Whisper's decodes and Piper's runs hold at once, in MiB; a Piper run counts
# its phonemes (about 1 MiB each) up to what one decoder window holds (WINDOW_SIZE).
# Chosen when the soak's rest was ~320 MiB (its bound, 1.2x, left 64 MiB); with
# Piper's arenas kept the rest is ~370-390 MiB and the peaks 1.14-1.16x of it.
# "Hello." (7 phonemes) runs beside any run or beside a decode; two windowed runs at
# once fit.
TEXT_AT_ONCE = 60
# What a Whisper decode holds while it runs: 37-43 MiB for tiny.en on up to 10 s of
# audio (the 10 s encoder; whisper_window), measured in one process. One decode runs
# beside at most 20 phonemes of Piper runs (a short answer), and two decodes never
# run at once.
DECODE_SIZE = 40
# A Piper run of a voice cut before its decoder (piper_graph) holds one decoder
# window at most: 25-30 MiB for runs of 36-96 phonemes (en_US-joe-medium, measured
# in one process), as a run of some 28 phonemes does.
WINDOW_SIZE = 28


def run_size(phonemes: int, windowed: bool) -> int:
    """What a Piper run of phonemes holds, in the budget's MiB."""
    return min(phonemes, WINDOW_SIZE) if windowed else phonemes


def _nothing() -> None:
    """No one to wake."""


class SpeechMemory:
    """The memory Whisper decodes and Piper runs hold at once, in MiB.

    A Piper run holds run_size(its phonemes); a decode DECODE_SIZE. Work starts
    while the total stays within the limit, or alone.
    """

    def __init__(self, limit: int = TEXT_AT_ONCE) -> None:
        """Nothing held; each engine sets how it is woken when the other frees memory."""
        self.limit = limit
        self.text = 0  # held by Piper runs
        self.decodes = 0  # Whisper decodes running
        self.decode_waiting = False
        # Of those, the server's or a trusted client's (not a stranger's): only
        # they stop Home Assistant's long reading, as its foreground work would.
        self.trusted_decodes = 0
        self.trusted_decode_waiting = False
        # The last trim asked for (released), until it is done.
        self.giving_back: asyncio.Future[None] | None = None
        self.wake_piper: Callable[[], None] = _nothing
        self.wake_whisper: Callable[[], None] = _nothing

    @property
    def held(self) -> int:
        """What runs now holds, in MiB."""
        return self.text + DECODE_SIZE * self.decodes

    def start_decode(self, trusted: bool) -> None:
        """A decode starts: it holds DECODE_SIZE, whoever asked for it."""
        self.decodes += 1
        self.trusted_decodes += trusted

    def end_decode(self, trusted: bool) -> None:
        """A decode started with start_decode(trusted) ends."""
        self.decodes -= 1
        self.trusted_decodes -= trusted

    def decodes_wait(self, waiting: bool, trusted: bool) -> bool:
        """Whether decodes wait, and trusted ones; whether that changed."""
        was = self.decode_waiting, self.trusted_decode_waiting
        self.decode_waiting, self.trusted_decode_waiting = waiting, trusted
        return was != (waiting, trusted)

    def decode_ahead(self, stranger: bool) -> bool:
        """Whether a decode runs or waits that a background run gives way to."""
        # A stranger's run gives way to any decode, a trusted client's only to a
        # trusted one: a stranger keeping a transcription queued stopped HA's
        # reading again and again, each piece made twice.
        if stranger:
            return self.decode_waiting or self.decodes > 0
        return self.trusted_decode_waiting or self.trusted_decodes > 0

    def released(self) -> None:
        """Work ended and the next started: with none running, the heap's free pages go back."""
        # Not after each decode or run: a trim beside a running decode took the pages
        # it was reusing (4x its page faults), and back-to-back work reuses them.
        if self.held or (self.giving_back and not self.giving_back.done()):
            return  # busy, or a trim already on its way (a flood of short runs: one)
        try:
            self.giving_back = asyncio.get_running_loop().run_in_executor(
                None, give_back_freed
            )
        except RuntimeError:  # no loop, or its threads are shut down
            give_back_freed()

    def fits(self, size: int, reserved: int = 0, freed: int = 0) -> bool:
        """Whether work of size may start, keeping reserved for work waiting, freed ending."""
        held = self.held - freed
        if held == 0 and reserved == 0:
            return True  # alone, whatever its size
        return held + size + reserved <= self.limit
