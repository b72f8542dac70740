"""The security modes, and the verdict on one parsed message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import SecurityError
from .limits import ReplayWindow
from .signing import is_signed, verify


class Mode(StrEnum):
    """How strictly signatures are required."""

    OFF = "off"
    VERIFY = "verify"
    ENFORCE = "enforce"


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a message passed: verified by its sender's key, or accepted unverified (and why)."""

    verified: bool
    reason: str = ""

    @property
    def outcome(self) -> str:
        """verified, or accepted_off / accepted_unsigned / accepted_untrusted."""
        return "verified" if self.verified else f"accepted_{self.reason}"


def check(
    topic: str,
    message: dict[str, Any],
    *,
    mode: Mode,
    key: str | None,
    window: ReplayWindow,
    sent: datetime,
    now: datetime,
    retained: bool = False,
) -> Verdict:
    """Apply the mode to one parsed message whose sender's trusted key is `key`."""
    if mode is Mode.OFF:
        return Verdict(False, "off")
    if not is_signed(message):
        if mode is Mode.ENFORCE:
            raise SecurityError("unsigned", "unsigned messages are refused (enforce)")
        return Verdict(False, "unsigned")
    if key is None:
        if mode is Mode.ENFORCE:
            raise SecurityError(
                "untrusted", f"no trusted key for {message.get('source')}"
            )
        return Verdict(False, "untrusted")
    verify(topic, message, key)
    if not retained:
        # Retained messages are state, delivered late on purpose; their signature still counts.
        window.check(
            str(message.get("source")), str(message.get("message_id")), sent, now
        )
    return Verdict(True)
