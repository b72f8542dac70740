"""A device's units reach HA's states only as short plain text; anything else leaves the default unit."""

from __future__ import annotations

from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.const import DOMAIN

from .helpers import register

# Turned around, on two lines and 15 kB long: beside every value and on the bus.
HOSTILE = "\u202e°C\n" + "A" * 15_000


def unit_shown(hass: HomeAssistant, domain: str, key: str) -> str | None:
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, f"meter_{key}")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.attributes.get("unit_of_measurement")


@pytest.mark.parametrize(
    ("unit", "value_unit", "level_unit"),
    [
        ("m³/h", "m³/h", "m³/h"),
        (HOSTILE, None, PERCENTAGE),
        ("\u202eC°", None, PERCENTAGE),
        ("x" * 33, None, PERCENTAGE),
        (" ", None, PERCENTAGE),
    ],
    ids=["plain", "hostile", "bidi", "too-long", "blank"],
)
async def test_a_registered_unit_is_shown_only_if_plain_and_short(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    unit: str,
    value_unit: str | None,
    level_unit: str,
) -> None:
    """A sensor's and a number's unit as registered, or their default."""
    document = {
        "device_id": "meter", "device_type": "sensor", "name": "Meter",
        "capabilities": [
            {"name": "value", "type": "sensor", "parameters": {"unit": unit}},
            {"name": "level", "type": "number", "parameters": {"unit": unit}},
        ],
    }  # fmt: skip
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, document)
    assert unit_shown(hass, "sensor", "value") == value_unit
    assert unit_shown(hass, "number", "level") == level_unit
