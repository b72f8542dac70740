"""The Wyoming handle program: a question in a transcript event, Grok's answer back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled

from .authority import Authority
from .engines import Engines
from .voice import Unanswered, answer

type Send = Callable[[Event], Awaitable[None]]


async def handle(
    engines: Engines,
    send: Send,
    transcript: Transcript,
    stream: bool,
    authority: Authority,
) -> None:
    """Answer a question; stream events only for clients that ask (HA waits for handled)."""
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
