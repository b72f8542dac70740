"""A document stored before its registration was checked whole: what of it is kept."""

from __future__ import annotations

from typing import Any

from alicia_bus.plain_json import MAX_NESTING
from alicia_bus.plain_parts import plain_parts


def nested(levels: int) -> dict[str, Any]:
    """Objects within objects, `levels` of them."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_a_stored_documents_plain_parts_are_kept() -> None:
    """For documents kept before the check: each part it refuses goes, the rest stays."""
    document = {
        "device_id": "kitchen_sensor",
        "metadata": {"batch": 10**30, "ok": [1, float("nan"), {"s": "\ud800", 2: 3}]},
        "deep": nested(MAX_NESTING + 1),
    }
    kept, dropped = plain_parts(document, "document")
    assert kept == {
        "device_id": "kitchen_sensor",
        "metadata": {"ok": [1, {}]},
        "deep": nested(MAX_NESTING - 1),
    }
    assert dropped == [
        'document["metadata"]["batch"]',
        'document["metadata"]["ok"][1]',
        'document["metadata"]["ok"][2]["s"]',
        'document["metadata"]["ok"][2][2]',
        'document["deep"]' + '["a"]' * (MAX_NESTING - 1),
    ]
    assert plain_parts(float("inf"), "x") == (None, ["x"])
