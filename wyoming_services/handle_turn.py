"""The Wyoming handle program: a question in a transcript event, Grok's answer back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled

from .authority import Authority
from .budgets import Refusal
from .engines import Engines
from .voice import Unanswered, answer

type Send = Callable[[Event], Awaitable[None]]


class QuestionRefused(Exception):
    """Not asked (before any work): an untrusted client beyond its allowance."""

    def __init__(self, refusal: Refusal) -> None:
        """refusal: the error code and the text naming the limit."""
        super().__init__(refusal.text)
        self.code = refusal.code


async def handle(
    engines: Engines,
    send: Send,
    transcript: Transcript,
    stream: bool,
    authority: Authority,
) -> None:
    """Answer a question; stream events only for clients that ask (HA waits for handled).

    Each question is a request on the owner's key: an untrusted client's is
    refused (QuestionRefused) unless wyoming_untrusted_questions allows it, within
    its requester's allowance (engines.questions).
    """
    if refusal := engines.questions.refusal(authority):
        raise QuestionRefused(refusal)
    context = transcript.context or {}
    if stream:
        await send(HandledStart(context=context).event())

    async def chunk(delta: str) -> None:
        await send(HandledChunk(text=delta).event())

    try:
        text = await answer(
            engines, transcript.text, transcript.language,
            context.get("conversation_id"), chunk if stream else None,
            authority=authority,
        )  # fmt: skip
    except Unanswered as unanswered:
        if stream:
            await send(HandledStop().event())
        await send(NotHandled(text=unanswered.spoken, context=context).event())
        return
    if stream:
        await send(HandledStop().event())
    await send(Handled(text=text, context=context).event())
