"""The contract core's security (alicia_bus) against the shared security vectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alicia_bus.canonical import canonical
from alicia_bus.errors import SecurityError
from alicia_bus.limits import ReplayWindow
from alicia_bus.policy import Mode, check, retained_state
from alicia_bus.signing import signed_bytes
from alicia_bus.topics import kind_of
from tests.vectors import SecurityVector, canonical_vectors, security_vectors


def decide(vector: SecurityVector, window: ReplayWindow) -> str:
    sent = datetime.fromisoformat(vector.message["timestamp"])
    try:
        verdict = check(
            vector.topic, vector.message, mode=Mode(vector.mode), key=vector.trusted_key,
            window=window, sent=sent, now=vector.now,
            retained=retained_state(kind_of(vector.topic), vector.retained),
        )  # fmt: skip
    except SecurityError as err:
        return err.code
    return verdict.outcome


@pytest.mark.parametrize("vector", security_vectors(), ids=lambda v: v.name)
def test_security_vector(vector: SecurityVector) -> None:
    window = ReplayWindow()
    if vector.repeat:
        assert decide(vector, window) == "verified"
    assert decide(vector, window) == vector.expect
    if vector.to_sign is not None:
        assert signed_bytes(vector.topic, vector.message) == vector.to_sign.encode()


@pytest.mark.parametrize(("name", "value", "expected"), canonical_vectors())
def test_canonical_vector(name: str, value: Any, expected: bytes) -> None:
    assert canonical(value) == expected, name


def test_rate_limiter_limits_each_source_and_stays_bounded() -> None:
    from alicia_bus.limits import RateLimiter

    slow = RateLimiter(rate=0.001, burst=3)
    assert [slow.allow("a") for _ in range(4)] == [True, True, True, False]
    assert slow.allow("b")
    fast = RateLimiter(rate=1e9, burst=1)
    for index in range(20_000):
        fast.allow(f"forged{index}")
    assert len(fast) < 10_100


def test_replay_window_stays_bounded() -> None:
    window = ReplayWindow(limit=1000)
    now = datetime.now(UTC)
    for index in range(5000):
        window.check("forger", f"id{index}", now, now)
    assert len(window) <= 1000


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(579, "signed 579 s old"), (-400, "signed 400 s in the future")],
)
def test_a_stale_message_says_whether_it_is_old_or_from_the_future(
    seconds: int, words: str
) -> None:
    now = datetime.now(UTC)
    with pytest.raises(SecurityError, match=words) as refused:
        ReplayWindow().check("panel", "id1", now - timedelta(seconds=seconds), now)
    assert refused.value.code == "stale"
