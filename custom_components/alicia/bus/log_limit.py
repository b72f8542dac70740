"""Log lines a peer can cause, at most one a minute per kind: a flood must not flood the log too."""

from __future__ import annotations

from dataclasses import dataclass
import logging
import math
import time
from typing import Any

EVERY_SECONDS = 60.0


@dataclass(slots=True)
class _Kind:
    logged: float = -math.inf
    held: int = 0  # lines not logged since the last one


class LimitedLog:
    """One line per kind a minute: the first at once, the next with a count of those held back."""

    def __init__(self, logger: logging.Logger, seconds: float = EVERY_SECONDS) -> None:
        """Lines go to logger; at most one per kind every `seconds`."""
        self._logger = logger
        self._seconds = seconds
        self._kinds: dict[str, _Kind] = {}

    def log(self, level: int, kind: str, message: str, *args: Any) -> None:
        """Log message (with args) unless a line of this kind went out within the minute.

        kind: one of a fixed set chosen by us (an error code), never a peer's text,
        so the kinds stay few.
        """
        if not self._logger.isEnabledFor(level):
            return
        now = time.monotonic()
        seen = self._kinds.setdefault(kind, _Kind())
        if now - seen.logged < self._seconds:
            seen.held += 1
            return
        if seen.held:
            message += " (and %d more like it since the last such line)"
            args = (*args, seen.held)
        seen.logged, seen.held = now, 0
        self._logger.log(level, message, *args)
