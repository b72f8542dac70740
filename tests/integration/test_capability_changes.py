"""A device registering again with new parameters (a range, a unit) has them in HA at once, not at HA's next start."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.const import DOMAIN

from .helpers import register


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices trusted without asking: the test is about what they register."""
    return {"approval": "auto"}


def device(*capabilities: dict[str, Any]) -> dict[str, Any]:
    """The fan controller, with these capabilities."""
    return {"device_id": "fan", "device_type": "actuator", "name": "Fan",
            "capabilities": list(capabilities), "heartbeat_interval": 10}  # fmt: skip


def attributes(hass: HomeAssistant, domain: str, key: str) -> dict[str, Any]:
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, f"fan_{key}")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return dict(state.attributes)


async def test_a_new_range_unit_and_colour_range_apply_at_once(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The level's range and unit, the value's unit, the light's kelvins: as registered now."""
    level = {"name": "level", "parameters": {"min": 0, "max": 100, "unit": "%"}}
    value = {"name": "value", "parameters": {"unit": "W"}}
    light = {"name": "light", "parameters": {"color_temp": True}}
    await register(hass, device(level, value, light))
    assert attributes(hass, "number", "level")["max"] == 100
    level["parameters"] = {"min": 1, "max": 10, "step": 0.5, "unit": "speed"}
    value["parameters"] = {"unit": "kW"}
    light["parameters"] = {"color_temp": True, "min_kelvin": 2700, "max_kelvin": 4000}
    await register(hass, device(level, value, light))
    number = attributes(hass, "number", "level")
    assert (number["min"], number["max"], number["step"]) == (1, 10, 0.5)
    assert number["unit_of_measurement"] == "speed"
    assert attributes(hass, "sensor", "value")["unit_of_measurement"] == "kW"
    kelvins = attributes(hass, "light", "light")
    assert (kelvins["min_color_temp_kelvin"], kelvins["max_color_temp_kelvin"]) == (
        2700,
        4000,
    )
