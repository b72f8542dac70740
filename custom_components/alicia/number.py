"""Numbers: settable levels such as a speaker's volume."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bus.speaker import VOLUMES
from .capabilities import Capability
from .const import DOMAIN
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Numbers as devices are approved."""

    def build(
        hub: AliciaHub, record: DeviceRecord, capability: Capability
    ) -> NumberEntity | None:
        if record.plays_audio and capability.name in VOLUMES:
            # A speaker's volume is its media player's: one entity for one value.
            registry = er.async_get(hass)
            unique_id = f"{record.device_id}_{capability.name}"
            if old := registry.async_get_entity_id(Platform.NUMBER, DOMAIN, unique_id):
                registry.async_remove(old)
            return None
        params = capability.parameters
        description = NumberEntityDescription(
            key=capability.name,
            translation_key="volume"
            if capability.name.startswith("volume")
            else "level",
            native_min_value=float(params.get("min", 0)),
            native_max_value=float(params.get("max", 100)),
            native_step=float(params.get("step", 1)),
            native_unit_of_measurement=params.get("unit", PERCENTAGE),
            mode=NumberMode.SLIDER,
        )
        return AliciaNumber(hub, record, capability.name, description)

    setup_platform(hass, entry.runtime_data, Platform.NUMBER, async_add_entities, build)


class AliciaNumber(AliciaEntity, NumberEntity):
    """A level the device reports and accepts."""

    @property
    def native_value(self) -> float | None:
        """As reported."""
        value = self.reported
        return (
            float(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else None
        )

    async def async_set_native_value(self, value: float) -> None:
        """Ask the device to set it."""
        await self.hub.async_command(self.device_id, self.key, "set", {"value": value})
