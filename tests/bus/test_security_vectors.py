"""The bridge's security code (wyoming_services.security) against the shared security vectors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.vectors import SecurityVector, canonical_vectors, security_vectors
from wyoming_services.security import (
    Mode,
    ReplayGuard,
    SecurityError,
    canonical,
    check,
    signed_bytes,
)


def decide(vector: SecurityVector, guard: ReplayGuard) -> str:
    sent = datetime.fromisoformat(vector.message["timestamp"])
    try:
        verdict = check(
            vector.topic, vector.message, mode=Mode(vector.mode), key=vector.trusted_key,
            guard=guard, sent=sent, now=vector.now, retained=vector.retained,
        )  # fmt: skip
    except SecurityError as err:
        return err.code
    return "verified" if verdict.verified else f"accepted_{verdict.reason}"


@pytest.mark.parametrize("vector", security_vectors(), ids=lambda v: v.name)
def test_security_vector(vector: SecurityVector) -> None:
    guard = ReplayGuard()
    if vector.repeat:
        assert decide(vector, guard) == "verified"
    assert decide(vector, guard) == vector.expect
    if vector.to_sign is not None:
        assert signed_bytes(vector.topic, vector.message) == vector.to_sign.encode()


@pytest.mark.parametrize(("name", "value", "expected"), canonical_vectors())
def test_canonical_vector(name: str, value: Any, expected: bytes) -> None:
    assert canonical(value) == expected, name


def test_rate_limiter_limits_each_source_and_stays_bounded() -> None:
    from wyoming_services.security import RateLimiter

    slow = RateLimiter(rate=0.001, burst=3)
    assert [slow.allow("a") for _ in range(4)] == [True, True, True, False]
    assert slow.allow("b")
    fast = RateLimiter(rate=1e9, burst=1)
    for index in range(20_000):
        fast.allow(f"forged{index}")
    assert len(fast._buckets) < 10_100
