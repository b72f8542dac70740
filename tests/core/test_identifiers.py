"""Ids, entity ids and actions match whole: a trailing newline is no part of a name."""

from __future__ import annotations

import pytest

from alicia_bus.errors import ProtocolError
from alicia_bus.home import is_action, is_entity_id
from alicia_bus.payloads import Registration
from alicia_bus.topics import HUB_SOURCE, is_identifier, kind_of


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


def test_home_assistants_name_on_the_bus_is_no_device_id() -> None:
    """Messages from `home-assistant` are trusted as HA's: no device may register as it."""
    document = {"device_id": HUB_SOURCE, "device_type": "sensor", "capabilities": []}
    with pytest.raises(ProtocolError, match="reserved"):
        Registration.parse(document)
