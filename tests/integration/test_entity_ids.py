"""Entity ids of a device in an area: the area once, on every supported HA."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.const import DOMAIN

from .helpers import AREA_IN_ENTITY_IDS, alicia_device, register

CLIMATE: dict[str, Any] = {
    "device_id": "living_climate",
    "device_type": "sensor",
    "name": "Living room climate",
    "capabilities": ["temperature", "humidity"],
    "metadata": {"location": "living_room"},
}


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices are approved as they register."""
    return {"approval": "auto"}


def entity_id(hass: HomeAssistant, unique_id: str) -> str | None:
    return er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)


async def test_the_area_is_not_repeated(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, CLIMATE)

    assert entity_id(hass, "living_climate_temperature") == (
        "sensor.living_room_climate_temperature"
    )
    assert entity_id(hass, "living_climate_humidity") == (
        "sensor.living_room_climate_humidity"
    )
    device = alicia_device(hass, "living_climate")
    assert device is not None
    assert device.area_id == "living_room"
    # Where HA names the area itself, the device's own name leaves it out.
    assert device.name == ("Climate" if AREA_IN_ENTITY_IDS else "Living room climate")


async def test_a_name_that_only_starts_like_the_area_is_kept(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(
        hass,
        CLIMATE | {"name": "Living roomba dock", "capabilities": ["battery"]},
    )

    device = alicia_device(hass, "living_climate")
    assert device is not None
    assert device.name == "Living roomba dock"


async def test_a_device_known_under_its_whole_name_keeps_its_ids(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Set up before this change: its device name and entity ids stay."""
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, "living_climate")},
        name="Living room climate",
        suggested_area="Living Room",
    )
    er.async_get(hass).async_get_or_create(
        "sensor", DOMAIN, "living_climate_temperature",
        config_entry=entry, device_id=device.id,
        suggested_object_id="living_room_living_room_climate_temperature",
    )  # fmt: skip

    await register(hass, CLIMATE)

    assert entity_id(hass, "living_climate_temperature") == (
        "sensor.living_room_living_room_climate_temperature"
    )
    known = alicia_device(hass, "living_climate")
    assert known is not None
    assert known.name == "Living room climate"
