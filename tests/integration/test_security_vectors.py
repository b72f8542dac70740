"""The integration's security code (custom_components.alicia.security) against the shared vectors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from custom_components.alicia.security import (
    Freshness,
    Refusal,
    canonical,
    inspect,
    to_sign,
)
from tests.vectors import SecurityVector, canonical_vectors, security_vectors


def decide(vector: SecurityVector, freshness: Freshness) -> str:
    try:
        outcome = inspect(
            vector.topic, vector.message, mode=vector.mode, key=vector.trusted_key,
            freshness=freshness, sent=datetime.fromisoformat(vector.message["timestamp"]),
            now=vector.now, retained=vector.retained,
        )  # fmt: skip
    except Refusal as refusal:
        return refusal.code
    return outcome if outcome == "verified" else f"accepted_{outcome}"


@pytest.mark.parametrize("vector", security_vectors(), ids=lambda v: v.name)
def test_security_vector(vector: SecurityVector) -> None:
    freshness = Freshness()
    if vector.repeat:
        assert decide(vector, freshness) == "verified"
    assert decide(vector, freshness) == vector.expect
    if vector.to_sign is not None:
        assert to_sign(vector.topic, vector.message) == vector.to_sign.encode()


@pytest.mark.parametrize(("name", "value", "expected"), canonical_vectors())
def test_canonical_vector(name: str, value: Any, expected: bytes) -> None:
    assert canonical(value) == expected, name


def test_buckets_limit_each_source_and_stay_bounded() -> None:
    from custom_components.alicia.security import Buckets

    slow = Buckets(rate=0.001, burst=3)
    assert [slow.take("a") for _ in range(4)] == [True, True, True, False]
    assert slow.take("b")  # another source has its own bucket
    # 20,000 forged sources: buckets that refilled are forgotten.
    fast = Buckets(rate=1e9, burst=1)
    for index in range(20_000):
        fast.take(f"forged{index}")
    assert len(fast.state) < 10_100
