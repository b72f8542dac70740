"""Ids, entity ids and actions match whole: a trailing newline is no part of a name."""

from __future__ import annotations

import pytest

from alicia_bus.home import is_action, is_entity_id
from alicia_bus.topics import is_identifier, kind_of


@pytest.mark.parametrize(
    ("check", "good"),
    [(is_identifier, "kitchen_sensor"), (is_entity_id, "light.kitchen"),
     (is_action, "light.turn_on")],
)  # fmt: skip
def test_a_trailing_newline_makes_no_name(check: object, good: str) -> None:
    assert callable(check)
    assert check(good)
    assert not check(good + "\n")


def test_a_topic_whose_id_ends_in_a_newline_is_no_device_topic() -> None:
    assert kind_of("alicia/devices/kitchen_sensor/data") is not None
    assert kind_of("alicia/devices/kitchen_sensor\n/data") is None
