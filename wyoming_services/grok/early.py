"""Grok asked before Home Assistant asks: a whole question, answered while the turn's quiet runs out.

The transcript of a whole question is ready in the quiet after it, 0.3 s or more
before the turn is over (turn_end.QUESTION_SECONDS); Home Assistant asks its agent a
few ms after the turn. An answer started with the transcript, HA's prompt and HA's
tools of that client's last ask is the answer HA's ask would start: HA's ask takes it
over when it asks exactly that (the same words, language, prompt and tools, in a
conversation not yet begun, from the same client). Any other ask is answered as
usual, and an early answer nobody takes is cancelled. Its tool calls wait for the
ask that takes it: they are HA's, run with that ask's authority.

The words go to the model before anyone asked it: only questions, only for a client
whose transcripts its agent asks (two early answers not taken in a row stop them
until an ask repeats one of its transcripts), at most two per utterance.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
import logging
import time
from typing import TYPE_CHECKING

from wyoming_services.authority import Authority

from .memory import conversation_key
from .tools import HaTools, Relay, ToolCall, ToolDefinition
from .wire import GrokFailure

if TYPE_CHECKING:
    from .engine import Grok

_LOGGER = logging.getLogger(__name__)
# HA asks within ms of the transcript; an answer not taken by then never will be.
TAKE_SECONDS = 5.0
# Early answers at once (two satellites asked together), and clients remembered.
MAX_ANSWERS = 2
MAX_CLIENTS = 4
# A client whose last early answers nobody took is asked for nothing early: its
# speech goes to another agent, or HA answers it itself.
MAX_MISSED = 2
# Its last ask's prompt and tools are used this long; its transcripts kept to see
# whether its asks repeat them.
ASKED_SECONDS = 1800.0
HEARD = 4


@dataclass(frozen=True, slots=True)
class Asked:
    """What an ask says beside its words: the language, HA's prompt and HA's tools."""

    language: str | None
    context: str
    tools: tuple[ToolDefinition, ...]


@dataclass(slots=True)
class _Client:
    """What a client's asks and transcripts tell: its prompt, and whether its agent takes early answers."""

    asked: Asked
    at: float
    missed: int = 0
    heard: deque[str] = field(default_factory=lambda: deque(maxlen=HEARD))


@dataclass(slots=True)
class EarlyCounters:
    """Early answers started, taken over by HA's ask, and dropped."""

    started: int = 0
    taken: int = 0
    dropped: int = 0


class _LateRelay(HaTools):
    """HA's tools for an answer nobody has taken yet: a round waits for the ask that takes it."""

    def __init__(self, tools: tuple[ToolDefinition, ...]) -> None:
        """The tools of the ask it was started with."""
        super().__init__(list(tools))
        self.taker: asyncio.Future[Relay] = asyncio.get_running_loop().create_future()

    async def relay(self, calls: list[ToolCall]) -> list[str]:
        """The round's calls through the ask that took the answer."""
        taker = await asyncio.shield(self.taker)
        return await taker.relay(calls)


class EarlyAnswer:
    """One answer started from a transcript: its words so far, then the rest as they come."""

    def __init__(
        self, grok: Grok, text: str, asked: Asked, authority: Authority
    ) -> None:
        """Start answering at once."""
        self.text = text
        self.asked = asked
        self.authority = authority
        self._grok = grok
        self._said: list[str] = []
        self._news = asyncio.Event()
        self._error: BaseException | None = None
        self._kept: tuple[str, str | None] | None = None
        self._deadline: asyncio.Timeout | None = None
        self._tools = _LateRelay(asked.tools)
        self._task = asyncio.create_task(self._run(), name="alicia-early-answer")
        self.expiry: asyncio.TimerHandle | None = None

    @property
    def failed(self) -> bool:
        """It ended without an answer (HA's ask then asks again itself)."""
        return self._task.done() and (self._task.cancelled() or self._error is not None)

    def cancel(self) -> None:
        """Stop asking the model."""
        self._task.cancel()

    async def _run(self) -> None:
        answer = self._grok.answer(
            self.text, self.asked.language, None,
            authority=self.authority, toolbox=self._tools,
            context=self.asked.context, held=self,
        )  # fmt: skip
        try:
            async with aclosing(answer) as deltas:
                async for delta in deltas:
                    self._said.append(delta)
                    self._news.set()
        except Exception as err:
            self._error = err
        finally:
            self._news.set()

    def timed(self, deadline: asyncio.Timeout) -> None:
        """Grok's deadline for this answer: moved to a whole grok_timeout when taken."""
        self._deadline = deadline

    def keep(self, answer: str, stored: str | None) -> None:
        """Kept for the conversation that takes it (none: forgotten)."""
        self._kept = (answer, stored)

    async def follow(
        self, conversation_id: str | None, taker: Relay
    ) -> AsyncGenerator[str]:
        """The words so far and the rest, as Grok.answer yields them (its failures too)."""
        self._tools.taker.set_result(taker)
        if self._deadline is not None and not self._task.done():
            # HA's ask gets as long as an answer it started itself.
            loop = asyncio.get_running_loop()
            self._deadline.reschedule(loop.time() + self._grok.settings.grok_timeout)
        sent = 0
        try:
            while True:
                if sent < len(self._said):
                    sent += 1
                    yield self._said[sent - 1]
                elif self._task.done():
                    break
                else:  # no await since the check: the next word sets it again
                    self._news.clear()
                    await self._news.wait()
        finally:
            if not self._task.done():
                self._task.cancel()  # HA hung up: nobody to answer
        if self._task.cancelled():
            raise GrokFailure(
                "Sorry, something went wrong answering that.", "early answer cancelled"
            )
        if self._error is not None:
            raise self._error
        if self._kept is not None:
            key = conversation_key(self.authority.holder, conversation_id)
            self._grok.memory.remember(
                key, self.text, *self._kept, trusted=self.authority.may_act
            )


class EarlyAnswers:
    """The early answers under way, and each client's last ask (the prompt and tools to start with)."""

    def __init__(self, grok: Grok, enabled: bool) -> None:
        """None yet."""
        self._grok = grok
        self._enabled = enabled
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._answers: list[EarlyAnswer] = []
        self.counters = EarlyCounters()

    def remember(self, authority: Authority, asked: Asked, text: str) -> None:
        """A client's ask: its prompt and tools for its next early answer; its words, whether they were heard."""
        if not (self._enabled and authority.may_act):
            return
        client = self._clients.pop(authority.who, None)
        if client is None:
            client = _Client(asked, time.monotonic())
        elif text.strip() in client.heard:
            client.missed = 0  # its agent asks what it says: early answers help again
        client.asked, client.at = asked, time.monotonic()
        self._clients[authority.who] = client
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)

    def heard(self, authority: Authority, text: str) -> None:
        """A transcript the client got (its next ask may repeat it); only a trusted client's counts."""
        if not authority.may_act:
            return
        if (client := self._clients.get(authority.who)) is not None:
            client.heard.append(text.strip())

    def start(self, text: str, authority: Authority) -> EarlyAnswer | None:
        """An answer to `text` as the client's last ask would have it; None if there is none."""
        client = self._clients.get(authority.who)
        text = text.strip()
        if not (self._enabled and authority.may_act and client and text):
            return None
        if client.missed >= MAX_MISSED or self._grok.needs_key:
            return None
        if time.monotonic() - client.at > ASKED_SECONDS:
            return None  # its prompt may have changed since: the next ask tells
        early = EarlyAnswer(self._grok, text, client.asked, authority)
        self._answers.append(early)
        self.counters.started += 1
        while len(self._answers) > MAX_ANSWERS:
            self.drop(self._answers[0])
        early.expiry = asyncio.get_running_loop().call_later(
            TAKE_SECONDS, self.drop, early, True
        )
        _LOGGER.debug("Asked Grok early: %r", text[:80])
        return early

    def drop(self, early: EarlyAnswer, missed: bool = False) -> None:
        """Cancel an answer nobody took; missed: nobody asked for its words at all."""
        if early in self._answers:
            self._let_go(early)
            early.cancel()
            self.counters.dropped += 1
            if missed and (client := self._clients.get(early.authority.who)):
                client.missed += 1

    def close(self) -> None:
        """Cancel every answer under way (the server stops)."""
        for early in list(self._answers):
            self.drop(early)

    def _let_go(self, early: EarlyAnswer) -> None:
        self._answers.remove(early)
        if early.expiry is not None:
            early.expiry.cancel()

    def take(
        self, text: str, asked: Asked, conversation_id: str | None, authority: Authority
    ) -> EarlyAnswer | None:
        """The early answer this ask would start, if one is under way; None otherwise."""
        recalled = self._grok.memory.recall(
            conversation_key(authority.holder, conversation_id)
        )
        if recalled.turns or recalled.response_id:
            return None  # a conversation under way: its answer needs what came before
        for early in [e for e in self._answers if e.failed]:
            self.drop(early)
        for early in self._answers:
            if (
                early.authority == authority
                and early.text == text.strip()
                and early.asked == asked
            ):
                self._let_go(early)
                self.counters.taken += 1
                if client := self._clients.get(authority.who):
                    client.missed = 0
                _LOGGER.debug("Answered from the early answer: %r", early.text[:80])
                return early
        return None
