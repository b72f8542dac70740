"""A device's text where HA shows it: Markdown (repair and approval cards) and plain titles."""

from __future__ import annotations

import string

from .bus.text import plain

_PUNCTUATION = frozenset(string.punctuation)
# A title HA shows whole (an issue's, a dialog's): a name's length at most.
TITLE_LENGTH = 128


def literal(text: str) -> str:
    """Text Markdown shows as itself: each ASCII punctuation mark escaped, as CommonMark allows."""
    return "".join(f"\\{c}" if c in _PUNCTUATION else c for c in text)


def code(text: str) -> str:
    """Text as a Markdown code span: shown as it is, never a link.

    CommonMark reads no escapes in a code span: a backtick, which would end it, is
    replaced, not escaped.
    """
    return f"`{text.replace('`', "'")}`"


def title(text: str) -> str:
    """Text for a plain-text title (shown as it is, escapes too): bounded, without controls."""
    return plain(text, TITLE_LENGTH)
