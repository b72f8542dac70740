"""Per-sender bounds: the replay window and token-bucket rate limits, each of bounded size."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
import time

from .errors import SecurityError

WINDOW_SECONDS = 30.0
SEEN_LIMIT = 100_000
BUCKET_LIMIT = 10_000


@dataclass(slots=True)
class ReplayWindow:
    """Refuses messages outside ±window seconds, and a (source, message id) seen inside it."""

    window: float = WINDOW_SECONDS
    limit: int = SEEN_LIMIT
    _seen: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict)

    def check(
        self,
        source: str,
        message_id: str,
        sent: datetime,
        now: datetime,
        *,
        remember: bool = True,
    ) -> None:
        """SecurityError('stale' or 'replayed'), or (with remember) remember the id."""
        skew = (now - sent).total_seconds()
        if abs(skew) > self.window:
            when = f"{skew:.0f} s old" if skew > 0 else f"{-skew:.0f} s in the future"
            raise SecurityError(
                "stale", f"signed {when} (the window is ±{self.window:g} s)"
            )
        clock = time.monotonic()
        while self._seen and (
            next(iter(self._seen.values())) < clock or len(self._seen) >= self.limit
        ):
            self._seen.popitem(last=False)
        if (source, message_id) in self._seen:
            raise SecurityError(
                "replayed", f"message {message_id} was already received"
            )
        if remember:
            self.remember(source, message_id)

    def remember(self, source: str, message_id: str) -> None:
        """Mark an id as received; kept for two windows (a copy later is stale by then)."""
        self._seen[(source, message_id)] = time.monotonic() + 2 * self.window

    def __len__(self) -> int:
        """Ids remembered now."""
        return len(self._seen)


def _monotonic() -> float:
    # Looked up at each call, so that a test's frozen clock (freezegun) is this one too.
    return time.monotonic()


@dataclass(slots=True)
class RateLimiter:
    """A token bucket per source: `rate` messages a second, bursts of `burst`."""

    rate: float
    burst: float
    limit: int = BUCKET_LIMIT
    clock: Callable[[], float] = _monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _next_prune: float = 0.0

    def allow(self, source: str) -> bool:
        """Take a token for source; False when its bucket is empty."""
        now = self.clock()
        tokens, last = self._buckets.get(source, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[source] = (tokens, now)
            return False
        self._buckets[source] = (tokens - 1, now)
        if len(self._buckets) > self.limit and now >= self._next_prune:
            # Forged sources must not grow the table: a bucket idle long enough to
            # have refilled is the same as none. Pruned once per refill time.
            self._next_prune = now + self.burst / self.rate
            refilled = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > refilled}
        return True

    def __len__(self) -> int:
        """Sources with a bucket now."""
        return len(self._buckets)
