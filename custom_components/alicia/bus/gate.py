"""The order both ends admit a message in: who sent it first, then that sender's rate.

A rate token is spent only once the sender is known to be who it says, so a flood
forged in an approved device's name costs that device nothing: the forgeries fail
their signature (or are unsigned under a keyed id) before any bucket is touched.
Home Assistant's own verified messages are never charged to a device budget.
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
    """Signature, replay window, then the per-sender rate limit; one per receiving end."""

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
            topic, message, mode=self.mode, key=key, window=self.window,
            sent=sent, now=now, retained=retained,
        )  # fmt: skip
        source = str(message.get("source"))
        if source == HUB_SOURCE and (verdict.verified or self.mode is Mode.OFF):
            # Home Assistant's states, trust lists and answers come in bursts and
            # must all arrive: a revocation dropped would keep a removed device in.
            return verdict
        if not self.limiter.allow(source):
            raise SecurityError("rate_limited", "over its rate limit")
        return verdict
