"""The order both ends admit a message in: who sent it, is it new, that sender's rate.

A rate token is spent only once the sender is known to be who it says and the
message is not an old or repeated one, so neither a flood forged in an approved
device's name nor its own messages replayed cost that device anything. The id is
remembered only once the rate allowed it, so a sender over its rate cannot fill
the replay window. Home Assistant's own verified messages are never charged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import SecurityError
from .limits import RateLimiter, ReplayWindow
from .policy import Mode, Verdict, check
from .topics import HUB_SOURCE


@dataclass(slots=True)
class Gate:
    """Signature, the replay window, the per-sender rate; one per receiving end."""

    mode: Mode
    limiter: RateLimiter
    window: ReplayWindow = field(default_factory=ReplayWindow)

    def admit(
        self,
        topic: str,
        message: dict[str, Any],
        *,
        key: str | None,
        sent: datetime,
        now: datetime,
        retained: bool = False,
    ) -> Verdict:
        """The verdict on a parsed message from the sender whose key is `key`.

        SecurityError with the refusal's code, `rate_limited` included.
        """
        verdict = check(
            topic, message, mode=self.mode, key=key, window=None,
            sent=sent, now=now, retained=retained,
        )  # fmt: skip
        source, message_id = str(message.get("source")), str(message.get("message_id"))
        fresh = verdict.verified and not retained
        if fresh:
            # An old or repeated message, even a genuine one replayed, is refused
            # before it costs its sender anything.
            self.window.check(source, message_id, sent, now, remember=False)
        hub = source == HUB_SOURCE and (verdict.verified or self.mode is Mode.OFF)
        # Home Assistant's states, trust lists and answers come in bursts and must
        # all arrive: a revocation dropped would keep a removed device in.
        if not hub and not self.limiter.allow(source):
            raise SecurityError("rate_limited", "over its rate limit")
        if fresh:
            # Only now: a sender over its rate cannot fill the window (and push out
            # the ids of others' messages still inside it).
            self.window.remember(source, message_id)
        return verdict
