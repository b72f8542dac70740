"""The one walk of a JSON value, through each caller's rules: a capability's parameters, a report's values."""

from __future__ import annotations

from datetime import date
import json
from typing import Any

import pytest

from alicia_bus.envelope import MAX_DEPTH, new_message, parse
from alicia_bus.errors import ProtocolError
from alicia_bus.payloads import Registration
from alicia_bus.plain_json import MAX_NESTING, check_json
from alicia_bus.reported import Report

PARAMETERS = "payload.capabilities[0].parameters"


def nested(levels: int) -> dict[str, Any]:
    """Objects within objects, `levels` of them."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def refusal_of_parameters(parameters: dict[Any, Any]) -> str:
    payload = {
        "device_id": "kitchen_sensor",
        "device_type": "sensor",
        "capabilities": [{"name": "temperature", "parameters": parameters}],
    }
    with pytest.raises(ProtocolError) as error:
        Registration.parse(payload)
    assert error.value.code == "invalid_field"
    return str(error.value)


def refusal_of_report(values: dict[str, Any]) -> str:
    with pytest.raises(ProtocolError) as error:
        Report.parse({"values": values})
    assert error.value.code == "invalid_field"
    return str(error.value)


@pytest.mark.parametrize(
    ("parameters", "refusal"),
    [
        (nested(MAX_NESTING + 1), PARAMETERS + '["a"]' * MAX_NESTING + ": nested deeper than 32 levels"),
        ({"v": "A" * 16_000}, f"{PARAMETERS}: must be at most 16000 characters as JSON"),
        ({"v": [float("nan")]}, f'{PARAMETERS}["v"][0]: must be a finite number within ±2**53'),
        ({"v": float("-inf")}, f'{PARAMETERS}["v"]: must be a finite number within ±2**53'),
        ({"v": {1: "x"}}, f'{PARAMETERS}["v"]: names must be text'),
        ({"v": "\ud800"}, f'{PARAMETERS}["v"]: contains a lone surrogate'),
        ({"v": date(2026, 1, 1)}, f'{PARAMETERS}["v"]: date is not JSON'),
        ({"a": float("nan"), "b": [float("inf")]}, f'{PARAMETERS}["a"]: must be a finite'),
    ],
    ids=["depth", "size", "nan", "infinity", "number_name", "surrogate", "date", "first"],
)  # fmt: skip
def test_parameters_are_plain_json_within_bounds(
    parameters: dict[Any, Any], refusal: str
) -> None:
    assert refusal_of_parameters(parameters).startswith(refusal)


def test_parameters_at_the_bounds_are_taken() -> None:
    text = "\x1b\t" + "A" * (16_000 - len('{"v": "\\u001b\\t"}'))
    Registration.parse(
        {
            "device_id": "kitchen_sensor",
            "device_type": "sensor",
            "capabilities": [
                {"name": "a", "parameters": nested(MAX_NESTING)},
                {"name": "b", "parameters": {"v": text}},
            ],
        }
    )


def test_a_callers_depth_is_its_own() -> None:
    """The settings sent to a device nest two deep in their message (services.py)."""
    deepest = MAX_DEPTH - 2
    check_json(nested(deepest), "settings", longest=10_000, deepest=deepest)
    with pytest.raises(
        ProtocolError, match=r"^settings\[\"a\"\].*: nested deeper than 30"
    ):
        check_json(nested(deepest + 1), "settings", longest=10_000, deepest=deepest)


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({"note": "x" * 2049}, "payload.values.note: must be text of 0 to 2048 characters"),
        ({"x": float("nan")}, "payload.values.x: must be a finite number within ±2**53 (9007199254740992)"),
        ({"x": {"rgb": [1, float("inf")]}}, 'payload.values.x."rgb"[1]: must be a finite number'),
        ({"x": {1: float("nan")}}, "payload.values.x.1: must be a finite number"),
        ({"x": ["\ud800"]}, "payload.values.x[0]: contains a lone surrogate"),
        ({"x": [float("nan"), "x" * 2049], "y": float("inf")}, "payload.values.x[0]: must be a finite"),
    ],
    ids=["long_text", "nan", "infinity_within", "under_a_number_name", "surrogate", "first"],
)  # fmt: skip
def test_a_reports_values_are_plain_json_within_bounds(
    values: dict[str, Any], refusal: str
) -> None:
    assert refusal_of_report(values).startswith(refusal)


def test_a_report_has_no_bound_of_depth_names_or_size_of_its_own() -> None:
    """Decoded JSON has text names only; a message's depth and size are bounded before."""
    deep = nested(MAX_DEPTH + 8)
    values = {"deep": deep, "names": {1: True}, "texts": ["x" * 2048] * 100}
    assert Report.parse({"values": values}).values == values
    raw = json.dumps(new_message("kitchen_sensor", "data", {"values": {"x": deep}}))
    with pytest.raises(ProtocolError, match="nested deeper than 32 levels") as error:
        parse("alicia/devices/kitchen_sensor/data", raw)
    assert error.value.code == "malformed_json"
