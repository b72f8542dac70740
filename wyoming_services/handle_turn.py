"""The Wyoming handle program: a question in a transcript event, Grok's answer back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
import re
from typing import Any

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled

from .authority import Authority
from .budgets import Refusal
from .engines import Engines
from .voice import Unanswered, answer

type Send = Callable[[Event], Awaitable[None]]

# A conversation id as Home Assistant makes one (ulid_now(): 26 Crockford base32
# characters, the first at most 7), not one a caller chose ("kitchen").
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


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
            remembered_as(context), chunk if stream else None,
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


def remembered_as(context: Mapping[str, Any]) -> str | None:
    """The conversation a question continues: one Home Assistant started, on the same device; else none.

    Every HA user asks from HA's one address, so the id is all that tells their
    conversations apart. HA makes an unguessable id (a ULID) for each new one and
    lets only its user continue it while its session lasts; an id a caller chose
    ("kitchen") is anyone's to send again, also after HA's session ended while the
    add-on still remembers it, so it is answered afresh each turn. The satellite or
    device it came from is part of it too (docs/wyoming.md, "Memory").
    """
    conversation_id = context.get("conversation_id")
    if not isinstance(conversation_id, str) or not _ULID.fullmatch(conversation_id):
        return None
    where = [context.get(name) for name in ("satellite_id", "device_id")]
    return "\n".join(
        [conversation_id, *(w if isinstance(w, str) else "" for w in where)]
    )
