"""A device's odd parameters or values give it working entities with sane defaults, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import register, send


def device(device_id: str, capability: dict[str, Any]) -> dict[str, Any]:
    """An actuator with one capability."""
    return {"device_id": device_id, "device_type": "actuator", "name": device_id,
            "capabilities": [capability], "heartbeat_interval": 10}  # fmt: skip


def state_of(hass: HomeAssistant, domain: str, unique_id: str) -> Any:
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert entity_id is not None, f"no {domain} for {unique_id}"
    return hass.states.get(entity_id)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "parameters",
    [
        {"min": "low"},
        {"unit": ["x"]},
        {"min": "nan", "max": "-inf"},
        {"min": 100, "max": 0, "step": 0},
        {"min": True, "max": 50, "step": -1},
    ],
    ids=[
        "text-min",
        "list-unit",
        "nan-text",
        "inverted-zero-step",
        "bool-and-negative",
    ],
)
async def test_a_numbers_odd_limits_give_the_defaults(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    parameters: dict[str, Any],
) -> None:
    """The number is made, from 0 to 100 by 1 in %, where its limits make no range."""
    await register(hass, device("dimmer", {"name": "level", "parameters": parameters}))
    state = state_of(hass, "number", "dimmer_level")
    attributes = state.attributes
    assert attributes["min"] < attributes["max"]
    assert attributes["step"] > 0
    assert isinstance(attributes.get("unit_of_measurement"), str)
    assert errors(caplog) == []


@pytest.mark.parametrize(
    "parameters",
    [{"min_kelvin": "warm"}, {"min_kelvin": 9000, "max_kelvin": 1000}],
    ids=["text", "inverted"],
)
async def test_a_lights_odd_kelvin_range_gives_the_default(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    parameters: dict[str, Any],
) -> None:
    """The light is made, warmest 2000 K, coolest 6500 K."""
    capability = {"name": "light", "parameters": {"color_temp": True, **parameters}}
    await register(hass, device("bulb", capability))
    attributes = state_of(hass, "light", "bulb_light").attributes
    assert (
        attributes["min_color_temp_kelvin"],
        attributes["max_color_temp_kelvin"],
    ) == (
        2000,
        6500,
    )
    assert errors(caplog) == []


async def test_a_lights_odd_reported_colour_is_no_traceback_and_no_stale_state(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Text in rgb_color is dropped, numbers out of range are clamped; its on/off is still followed."""
    capability = {"name": "light", "parameters": {"color": True, "brightness": True}}
    await register(hass, device("bulb", capability))
    topic = "alicia/devices/bulb/data"
    odd = {"state": "on", "brightness": 100000, "rgb_color": [9000, -5, 3]}
    await send(hass, topic, "bulb", {"values": {"light": odd}})
    attributes = state_of(hass, "light", "bulb_light").attributes
    assert attributes["brightness"] == 255
    assert attributes["rgb_color"] == (255, 0, 3)
    await send(
        hass,
        topic,
        "bulb",
        {"values": {"light": {"state": "off", "rgb_color": ["a", "b", "c"]}}},
    )
    assert state_of(hass, "light", "bulb_light").state == "off"
    assert errors(caplog) == []
