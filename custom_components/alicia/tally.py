"""What the hub read, refused or dropped: counters for diagnostics, and a log that cannot flood."""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
from typing import Any

from .bus.log_limit import LimitedLog

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class Counters:
    """What the hub read, refused or dropped, for diagnostics."""

    messages: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unknown_device: int = 0
    pending_full: int = 0
    collisions: int = 0
    commands_refused: int = 0

    def reject(self, code: str) -> None:
        """Count a message refused for breaking the contract (codes are a fixed set)."""
        self.rejected[code] = self.rejected.get(code, 0) + 1


class Tally:
    """The counters, and a warning at most once a minute per reason."""

    def __init__(self) -> None:
        """Nothing counted or logged yet."""
        self.counters = Counters()
        self._log = LimitedLog(_LOGGER)

    def log_limited(self, key: str, text: str, *args: Any) -> None:
        """At most one line per reason a minute: a flood must not flood the log too."""
        self._log.log(logging.WARNING, key, text, *args)
