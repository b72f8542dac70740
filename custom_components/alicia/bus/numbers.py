"""The one check of a number a sender chose: finite, and within what every reader holds exactly."""

from __future__ import annotations

import math
from typing import Any

from .errors import ProtocolError

# JSON numbers a JavaScript reader (and canonical JSON) gets exactly: |x| <= 2**53.
# Python's json reads any length of integer; converting one past a double's range
# to float raises OverflowError, in us or in whatever reads it later (HA's sensors).
MAX_NUMBER = 2**53


def is_number(value: Any) -> bool:
    """Whether value is a finite JSON number within ±MAX_NUMBER (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    # int and float compare exactly in Python, without converting either.
    return -MAX_NUMBER <= value <= MAX_NUMBER


def number(
    value: Any,
    path: str,
    *,
    low: float = -MAX_NUMBER,
    high: float = MAX_NUMBER,
    integer: bool = False,
    what: str | None = None,
) -> float:
    """Value as a number from low to high (an int if integer), or ProtocolError('invalid_field').

    `what` says what the field must be in the error ("1 to 3600 seconds");
    by default "a number from low to high".
    """
    if (
        not is_number(value)
        or (integer and not isinstance(value, int))
        or not low <= value <= high
    ):
        kind = "an integer" if integer else "a number"
        raise ProtocolError(
            "invalid_field",
            f"{path}: must be {what or f'{kind} from {low:g} to {high:g}'}",
        )
    return value if integer else float(value)
