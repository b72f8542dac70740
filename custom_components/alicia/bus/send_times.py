"""A signed message's send time as remembered: never later than now, whoever's clock was ahead.

One rule for both ends: Home Assistant judging devices' words (their registrations and
status), the bridge judging HA's (its trust list and states).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .limits import WINDOW_SECONDS


def not_ahead(sent: datetime) -> datetime:
    """A send time a sender claims, kept no later than now (as remembered, not as told).

    A sender whose clock was once ahead (a bad RTC, a wrong NTP server) would
    otherwise have every later word, dated right, ignored as older until that date;
    a replay is still sent before what is remembered.
    """
    now = datetime.now(UTC)
    # To the millisecond, as messages are dated: a word sent now is not "before" it.
    return min(sent, now.replace(microsecond=now.microsecond // 1000 * 1000))


def in_force(remembered: datetime) -> datetime:
    """A remembered send time as the bound of what is newer now."""
    now = datetime.now(UTC)
    if remembered <= now:
        return remembered
    # Kept no later than now when taken: the clock was set back since, and words
    # dated right would be older for as long as it was ahead. Newer: sent within
    # the replay window (in flight; a copy inside it is refused as replayed).
    return now - timedelta(seconds=WINDOW_SECONDS)


def from_the_future(sent: datetime) -> bool:
    """Dated past the replay window ahead of now: signed while the clocks were ahead, replayed since.

    Its holder's words are dated right now (the window refuses its live ones), so
    such a word, retained and sent again, must not count as newer than theirs.
    """
    return sent > datetime.now(UTC) + timedelta(seconds=WINDOW_SECONDS)
