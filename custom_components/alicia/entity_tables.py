"""Which capabilities become entities, and on which platform: the platforms' own tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from homeassistant.const import Platform
from homeassistant.helpers.entity import EntityDescription

from . import binary_sensor, button, event, light, number, sensor, switch

# Each platform's table: a row per capability, keyed by its name.
TABLES: Final[Mapping[Platform, tuple[EntityDescription, ...]]] = {
    Platform.BINARY_SENSOR: binary_sensor.DESCRIPTIONS,
    Platform.BUTTON: button.DESCRIPTIONS,
    Platform.EVENT: event.DESCRIPTIONS,
    Platform.LIGHT: light.DESCRIPTIONS,
    Platform.NUMBER: number.DESCRIPTIONS,
    Platform.SENSOR: sensor.DESCRIPTIONS,
    Platform.SWITCH: switch.DESCRIPTIONS,
}

CAPABILITY_PLATFORMS: Final[Mapping[str, Platform]] = {
    row.key: platform for platform, table in TABLES.items() for row in table
}
