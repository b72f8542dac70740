"""Text a device chose, shown where HA renders Markdown (repair cards)."""

from __future__ import annotations

import string

_PUNCTUATION = frozenset(string.punctuation)


def literal(text: str) -> str:
    """Text Markdown shows as itself: each ASCII punctuation mark escaped, as CommonMark allows."""
    return "".join(f"\\{c}" if c in _PUNCTUATION else c for c in text)
