"""Turns at Piper: the fewest phonemes spoken so far go next, and long requests give way to short ones."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
import heapq
import itertools
from typing import Any, NamedTuple

from .speech_memory import DECODE_SIZE, SpeechMemory
from .tts_text import MAX_PHONEMES, next_run

# A request that has had more than this many phonemes spoken (this run included)
# is background work: while a request under it (an answer, a "Hello.") waits or
# speaks, no background run starts, and the one in progress is stopped and made
# again later (to its end: a run is stopped once at most). On 2 cores a run beside
# "Hello." would take half the CPU for all of Hello's time; a long request gives a
# few hundred ms of its lead. Phonemes, not characters, measure what is spoken (and
# Piper's time and memory): English reads about 1.2 a character, 480 is some 400
# characters; a CJK character or an emoji reads about 15.
# Background runs go one at a time, one already takes every core Piper's session has.
BACKGROUND = 480
# The longest background run: a short run gives way (stopped, made again) at little
# cost, and holds little memory beside the others even in a voice run whole.
BACKGROUND_RUN = 36


def run_limit(served: int) -> int:
    """The most phonemes in the next run of a request that has had served spoken.

    Runs of MAX_PHONEMES while the request surely stays under BACKGROUND, else short.
    """
    return MAX_PHONEMES if served + MAX_PHONEMES <= BACKGROUND else BACKGROUND_RUN


def runs(sentences: list[list[str]], served: int) -> Iterator[tuple[list[str], int]]:
    """Phonemized sentences in runs for Piper, each with its claim (this run included)."""
    for sentence in sentences:
        rest = sentence
        while rest:
            run, rest = next_run(rest, run_limit(served))
            served += len(run)
            yield run, served


class TurnsClosed(Exception):
    """The server stops: no more turns are given."""


@dataclass(slots=True, eq=False)
class Turn:
    """One run's slot: its claim, and how to stop the run if it must give way."""

    claim: int
    # Phonemes its run speaks.
    size: int = 0
    # A stranger's run: it gives way to a trusted client's answer, every time.
    stranger: bool = False
    # Whether it gives way to foreground work: a background run not stopped before.
    gives_way: bool = False
    # Whether its run may be stopped: it gives way, or is a stranger's.
    stoppable: bool = False
    # onnxruntime.RunOptions of the run: its terminate flag ends the run between nodes.
    options: Any = None
    stopped: bool = False

    @property
    def background(self) -> bool:
        """Whether this run gives way to requests with less spoken."""
        return self.claim > BACKGROUND

    def arm(self, options: Any) -> None:
        """The RunOptions its run will take (already terminated if it was stopped)."""
        self.options = options
        options.terminate = self.stopped

    def stop(self) -> None:
        """Stop the run (now, or before it starts)."""
        self.stopped = True
        if self.options is not None:
            self.options.terminate = True


class _Asked(NamedTuple):
    """A run waiting for its turn: a trusted client's first, then the lowest claim."""

    stranger: bool
    claim: int
    order: int
    stoppable: bool
    size: int
    grant: asyncio.Future[Turn]


class Turns:
    """Slots for synthesis: the lowest claim goes next (then the first to ask)."""

    def __init__(self, slots: int, memory: SpeechMemory | None = None) -> None:
        """All slots free; runs start while memory (shared with Whisper) has room."""
        self._free = slots
        self._memory = memory or SpeechMemory()
        self._memory.wake_piper = self._hand_out
        # A trusted client's runs (Home Assistant's) go before any stranger's.
        self._waiting: list[_Asked] = []
        self._running: set[Turn] = set()
        self._order = itertools.count()
        self._closed = False

    async def take(
        self, claim: int, stoppable: bool = True, size: int = 0, *, trusted: bool = True
    ) -> Turn:
        """Wait for a slot for a run of size phonemes; give_back(turn) after.

        A background turn may be stopped, if stoppable. A stranger's (not trusted)
        waits for every trusted client's run waiting before it is granted, and is
        stopped whenever a trusted client's answer waits for its room.
        """
        if self._closed:
            raise TurnsClosed
        grant: asyncio.Future[Turn] = asyncio.get_running_loop().create_future()
        asked = _Asked(not trusted, claim, next(self._order), stoppable, size, grant)
        heapq.heappush(self._waiting, asked)
        self._hand_out()
        try:
            return await grant
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled():
                self.give_back(grant.result())  # granted just before the cancel landed
            raise

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    def close(self) -> None:
        """Refuse the turns waiting and any asked later: the server stops."""
        self._closed = True
        waiting, self._waiting = self._waiting, []
        for *_, grant in waiting:
            if not grant.done():
                grant.set_exception(TurnsClosed())

    def give_back(self, turn: Turn) -> None:
        """A run is done (or stopped): its slot goes to the next in turn."""
        if turn in self._running:
            self._running.discard(turn)
            self._memory.text -= turn.size
        self._free += 1
        self._hand_out()
        self._memory.wake_whisper()
        self._memory.released()

    def _foreground(self, turn: Turn) -> bool:
        """Whether a decode, or a run under BACKGROUND turn gives way to, waits or runs.

        A stranger's run gives way to anyone's, a trusted client's to a trusted one's.
        """
        if self._memory.decode_ahead(turn.stranger):
            return True
        waiting = any(
            asked.claim <= BACKGROUND
            and not asked.grant.done()
            and (turn.stranger or not asked.stranger)
            for asked in self._waiting
        )
        return waiting or any(
            not other.background and (turn.stranger or not other.stranger)
            for other in self._running
        )

    def _may_start(self, asked: _Asked, beside_strangers: bool) -> bool:
        """Whether asked may start now; or, not beside_strangers, once their runs end."""
        running = [t for t in self._running if beside_strangers or not t.stranger]
        free = self._free + len(self._running) - len(running)
        freed = sum(t.size for t in self._running if t not in running)
        memory = self._memory
        # Room is kept for any decode waiting, a stranger's too (memory is memory),
        # but a trusted reading's piece that started runs to its end before a
        # stranger's decode: it is not stopped for it, the decode waits for room.
        reserved = DECODE_SIZE if memory.decode_waiting else 0
        if free <= 0 or not memory.fits(asked.size, reserved, freed):
            return False
        if asked.claim <= BACKGROUND:
            return True
        # Background runs go alone. Foreground ones waiting are all behind it in
        # turn (strangers' answers behind HA's reading): they hold nothing back.
        return not (running or memory.decode_ahead(asked.stranger))

    def _hand_out(self) -> None:
        for turn in self._running:
            if turn.gives_way and not turn.stopped and self._foreground(turn):
                turn.stop()
        while self._waiting:
            asked = self._waiting[0]
            if asked.grant.done():  # cancelled while waiting
                heapq.heappop(self._waiting)
                continue
            if not self._may_start(asked, beside_strangers=True):
                # Strangers' runs (not wyoming_trusted_clients') stop, whatever their
                # claim and however often, for a trusted client's answer they hold
                # back: four strangers' short requests kept the slots and memory,
                # and HA's first audio waited 1-2 s. HA's long readings (background)
                # wait for the runs instead: a stopped run is work lost, and a
                # reading is ahead by its first 480 phonemes.
                answer = not asked.stranger and asked.claim <= BACKGROUND
                if answer and self._may_start(asked, beside_strangers=False):
                    for turn in self._running:
                        if turn.stranger and not turn.stopped:
                            turn.stop()
                return  # the first in turn waits; none passes it
            heapq.heappop(self._waiting)
            turn = Turn(asked.claim, asked.size, asked.stranger)
            turn.gives_way = asked.stoppable and turn.background
            turn.stoppable = turn.gives_way or turn.stranger
            self._free -= 1
            self._running.add(turn)
            self._memory.text += asked.size
            asked.grant.set_result(turn)
