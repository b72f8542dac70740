"""The voice route: who serves it (a voice server), and what its result says, typed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .payloads import DeviceType
from .text import clean_text, optional_text

# What serves a voice route: speech-to-text, then an answer.
VOICE_ROUTE = frozenset({"stt", "ai"})
# A question's text, as the agent takes one (agent.MAX_TEXT).
MAX_TRANSCRIPT = 8_000
# The bridge's answer runs to 8 characters a token of grok_max_tokens: 2,000 tokens.
MAX_ANSWER = 16_000
MAX_LANGUAGE = 64


def is_voice_server(device_type: str, capabilities: Iterable[str]) -> bool:
    """A service (software, as the app's bridge registers) with speech-to-text and answers.

    A device of another type listing the capabilities is no voice server: the card
    and the broker's rules (acl.py) give a service alone the voice route's topics.
    """
    return device_type == DeviceType.SERVICE and set(capabilities) >= VOICE_ROUTE


@dataclass(frozen=True, slots=True)
class VoiceResult:
    """A voice server's result of a spoken command: what was heard and answered."""

    transcript: str
    answer: str | None
    language: str | None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> VoiceResult:
        """Text of bounded length each, or ProtocolError naming the field."""
        return cls(
            clean_text(
                payload.get("transcript"), "payload.transcript",
                longest=MAX_TRANSCRIPT, lines=True,
            ),
            optional_text(payload, "answer", longest=MAX_ANSWER, lines=True),
            optional_text(payload, "language", longest=MAX_LANGUAGE),
        )  # fmt: skip
