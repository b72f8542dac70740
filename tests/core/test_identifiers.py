"""Ids, entity ids and actions match whole: a trailing newline is no part of a name."""

from __future__ import annotations

import pytest

from alicia_bus.errors import ProtocolError
from alicia_bus.home import is_action, is_entity_id
from alicia_bus.payloads import Registration
from alicia_bus.topics import (
    HUB_SOURCE,
    RESERVED_IDS,
    is_device_id,
    is_identifier,
    kind_of,
)


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


@pytest.mark.parametrize("device_id", ["speakers", "sensors"])
def test_a_shared_namespace_is_no_device_id(device_id: str) -> None:
    """Approved as `speakers`, a device's ACL read every announcement (devices/speakers/#)."""
    assert device_id in RESERVED_IDS
    assert not is_device_id(device_id)
    document = {"device_id": device_id, "device_type": "sensor", "capabilities": []}
    with pytest.raises(
        ProtocolError, match=f"payload.device_id: {device_id} is reserved"
    ) as error:
        Registration.parse(document)
    assert error.value.code == "invalid_field"
