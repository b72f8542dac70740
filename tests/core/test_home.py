"""The home's payloads: what one end builds, the other reads back unchanged; mistakes named."""

from __future__ import annotations

from typing import Any

import pytest

from alicia_bus.errors import ProtocolError
from alicia_bus.home import MAX_TARGETS, CommandAnswer, HaCommand, HaState


def test_a_state_reads_back_as_built_with_only_plain_known_attributes() -> None:
    built = HaState.of(
        "sensor.t", "21.5", "Living Room",
        {"friendly_name": "Thermometer", "unit_of_measurement": "°C",
         "entity_picture": "/local/t.png", "brightness": {"nested": 1}},
        "2026-11-27T10:00:00+00:00",
    )  # fmt: skip
    assert built.attributes == {
        "friendly_name": "Thermometer",
        "unit_of_measurement": "°C",
    }
    assert HaState.parse(built.to_payload()) == built
    assert built.text("unit_of_measurement") == "°C"
    assert built.text("device_class") is None


def test_a_device_entity_and_a_tombstone_read_back_as_built() -> None:
    child = HaState.of("sensor.c", "1", None, {}, "now", device="hall_hub")
    assert HaState.parse(child.to_payload()) == child
    gone = HaState.tombstone("sensor.c")
    assert gone.to_payload() == {"entity_id": "sensor.c", "removed": True}
    assert HaState.parse(gone.to_payload()) == gone


def test_a_command_reads_back_as_built() -> None:
    built = HaCommand("light.turn_on", ("light.a", "light.b"), {"brightness": 40})
    assert HaCommand.parse(built.to_payload()) == built
    assert built.domain == "light"
    one = HaCommand.parse(
        {"action": "light.toggle", "target": {"entity_id": "light.a"}}
    )
    assert one.entity_ids == ("light.a",)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"action": "light", "target": {"entity_id": "light.a"}}, "domain.action"),
        ({"action": "light.turn_on", "target": {"area_id": "x"}}, "target may only"),
        ({"action": "light.turn_on", "target": "light.a"}, "target may only"),
        ({"action": "light.turn_on", "target": {"entity_id": []}}, "must name"),
        (
            {"action": "light.turn_on",
             "target": {"entity_id": [f"light.l{n}" for n in range(MAX_TARGETS + 1)]}},
            "must name",
        ),
        (
            {"action": "light.turn_on", "target": {"entity_id": "light.a"},
             "data": {"floor_id": "up"}},
            "without area_id, device_id, entity_id, floor_id, label_id",
        ),
    ],
)  # fmt: skip
def test_a_command_that_could_reach_past_its_entities_is_refused(
    payload: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ProtocolError, match=problem) as error:
        HaCommand.parse(payload)
    assert error.value.code == "invalid_field"


@pytest.mark.parametrize(
    "answer", [CommandAnswer("done"), CommandAnswer("refused", "not exposed")]
)
def test_an_answer_reads_back_as_built(answer: CommandAnswer) -> None:
    assert CommandAnswer.parse(answer.to_payload()) == answer
