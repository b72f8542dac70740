"""All of a registration is kept, so all of it is plain JSON within bounds: what no message on the bus can carry too."""

from __future__ import annotations

from datetime import date
import json
from typing import Any

import pytest

from alicia_bus.envelope import new_message, parse
from alicia_bus.errors import ProtocolError
from alicia_bus.payloads import Registration
from alicia_bus.plain_json import MAX_NESTING
from alicia_bus.topics import SMALL_LIMIT

SENSOR: dict[str, Any] = {
    "device_id": "kitchen_sensor",
    "device_type": "sensor",
    "capabilities": ["temperature"],
}
TOPIC = "alicia/system/discovery/register/kitchen_sensor"


def nested(levels: int) -> dict[str, Any]:
    """Objects within objects, `levels` of them."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"metadata": {"batch": 10**30}}, 'payload["metadata"]["batch"]: must be a finite number'),
        ({"metadata": nested(MAX_NESTING)}, 'payload["metadata"]' + '["a"]' * (MAX_NESTING - 2) + ": nested deeper than 31 levels"),
        ({"metadata": {1: "x"}}, 'payload["metadata"]: names must be text'),
        ({"constraints": {"x": float("nan")}}, 'payload["constraints"]["x"]: must be a finite number'),
        ({"constraints": {"x": ["\ud800"]}}, 'payload["constraints"]["x"][0]: contains a lone surrogate'),
        ({"firmware": date(2026, 1, 1)}, 'payload["firmware"]: date is not JSON'),
        ({(1, 2): "x"}, "payload: names must be text"),
        ({"capabilities": [{"name": "a", "unit": -(10**30)}]}, 'payload["capabilities"][0]["unit"]: must be a finite'),
        ({"capabilities": [{"name": "a", 3: 1}]}, 'payload["capabilities"][0]: names must be text'),
        ({"notes": "x" * 5 * SMALL_LIMIT}, "payload: must be at most 327680 characters as JSON"),
    ],
    ids=["huge_integer", "depth", "number_name", "nan", "surrogate", "date", "top_name", "capability_key", "capability_name", "size"],
)  # fmt: skip
def test_a_registration_is_plain_json_within_bounds(
    changes: dict[Any, Any], refusal: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        Registration.parse(SENSOR | changes)
    assert error.value.code == "invalid_field"
    assert str(error.value).startswith(refusal)


def test_what_a_message_can_carry_is_taken() -> None:
    """The bounds are what the message's own allow: as deep, and as long as json.dumps writes it."""
    payload = SENSOR | {"metadata": nested(MAX_NESTING - 2)}
    raw = json.dumps(new_message("kitchen_sensor", "event", payload))
    assert parse(TOPIC, raw).body is not None
    deeper = SENSOR | {"metadata": nested(MAX_NESTING - 1)}
    with pytest.raises(ProtocolError, match="nested deeper than 32") as error:
        parse(TOPIC, json.dumps(new_message("kitchen_sensor", "event", deeper)))
    assert error.value.code == "malformed_json"
    floats = SENSOR | {"capabilities": ["a"] * 64, "metadata": {"v": []}}
    room = SMALL_LIMIT - len(json.dumps(new_message("kitchen_sensor", "event", floats)))
    # 1e15 is written 1000000000000000.0: a byte of the message, 4 characters stored.
    raw = json.dumps(new_message("kitchen_sensor", "event", floats)).replace(
        '"v": []', '"v": [' + ",".join(["1e15"] * (room // 5)) + "]"
    )
    assert SMALL_LIMIT - 5 <= len(raw) <= SMALL_LIMIT
    body = parse(TOPIC, raw).body
    assert isinstance(body, Registration)
    assert len(json.dumps(body.document)) > 3.9 * SMALL_LIMIT
