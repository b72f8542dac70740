"""The security modes, and the verdict on one parsed message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import SecurityError
from .limits import ReplayWindow
from .signing import is_signed, verify
from .topics import RETAINED_KINDS, Kind


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
    window: ReplayWindow | None,
    sent: datetime,
    now: datetime,
    retained: bool = False,
) -> Verdict:
    """Apply the mode to one parsed message whose sender's trusted key is `key`.

    retained: delivered as retained state (see retained_state()); such a message
    keeps its signature check but not the time window.
    window None: the caller checks the replay window itself (bus/gate.py does,
    after the sender's rate, so a flood cannot fill it).
    """
    if mode is Mode.OFF:
        return Verdict(False, "off")
    if not is_signed(message):
        if mode is Mode.ENFORCE:
            raise SecurityError("unsigned", "unsigned messages are refused (enforce)")
        if key is not None:
            # An id with an approved key is that key's: unsigned, it is anyone.
            raise SecurityError(
                "unsigned", f"{message.get('source')} has an approved key and must sign"
            )
        return Verdict(False, "unsigned")
    if key is None:
        if mode is Mode.ENFORCE:
            raise SecurityError(
                "untrusted", f"no trusted key for {message.get('source')}"
            )
        return Verdict(False, "untrusted")
    verify(topic, message, key)
    if not retained and window is not None:
        # Retained messages are state, delivered late on purpose; their signature still counts.
        window.check(
            str(message.get("source")), str(message.get("message_id")), sent, now
        )
    return Verdict(True)


def retained_state(kind: Kind | None, retained: bool) -> bool:
    """Whether a message is exempt from the time window: retained, and of a kind that is state.

    A command or request re-published as retained is not state: it keeps the window,
    so it cannot run again at every reconnect.
    """
    return retained and kind in RETAINED_KINDS
