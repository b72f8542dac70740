"""Numbers: settable levels such as a speaker's volume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from homeassistant.components.number import (
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability, positive, span, text
from .const import DOMAIN
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 1


def number(value: Any) -> float | None:
    """A reported number; anything else (a bool too) is unknown."""
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None
    )


def not_a_speaker(record: DeviceRecord) -> bool:
    """A speaker's volume is its media player's: one entity for one value."""
    return not record.plays_audio


@dataclass(frozen=True, kw_only=True)
class AliciaNumberEntityDescription(NumberEntityDescription):
    """A number of a capability (its range from the parameters), and how it reads."""

    value_fn: Callable[[Any], float | None] = number
    exists_fn: Callable[[DeviceRecord], bool] = lambda _: True


# Capabilities that become numbers: a row each, keyed by the capability's name.
DESCRIPTIONS: tuple[AliciaNumberEntityDescription, ...] = (
    AliciaNumberEntityDescription(key="volume", translation_key="volume", exists_fn=not_a_speaker),
    AliciaNumberEntityDescription(key="volume_control", translation_key="volume", exists_fn=not_a_speaker),
    AliciaNumberEntityDescription(key="level", translation_key="level"),
)  # fmt: skip


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Numbers as devices are approved."""

    def build(
        hub: AliciaHub,
        record: DeviceRecord,
        capability: Capability,
        description: AliciaNumberEntityDescription,
    ) -> NumberEntity | None:
        if not description.exists_fn(record):
            # Its entity from before the device became a speaker goes.
            registry = er.async_get(hass)
            unique_id = f"{record.device_id}_{capability.name}"
            if old := registry.async_get_entity_id(Platform.NUMBER, DOMAIN, unique_id):
                registry.async_remove(old)
            return None
        description = replace(description, mode=NumberMode.SLIDER)
        return AliciaNumber(hub, record, capability.name, description)

    setup_platform(hass, entry.runtime_data, async_add_entities, DESCRIPTIONS, build)


# A level's range when its parameters make none.
RANGE = (0.0, 100.0)


class AliciaNumber(AliciaEntity, NumberEntity):
    """A level the device reports and accepts."""

    entity_description: AliciaNumberEntityDescription

    @property
    def native_value(self) -> float | None:
        """As reported, read as its row says."""
        return self.entity_description.value_fn(self.reported)

    @property
    def native_min_value(self) -> float:
        """The capability's min, if it and max make a range; else 0."""
        return span(self.parameters, ("min", "max"), RANGE)[0]

    @property
    def native_max_value(self) -> float:
        """The capability's max, if it and min make a range; else 100."""
        return span(self.parameters, ("min", "max"), RANGE)[1]

    @property
    def native_step(self) -> float:
        """The capability's step, if positive; else 1."""
        return positive(self.parameters, "step", 1.0)

    @property
    def native_unit_of_measurement(self) -> str:
        """The capability's unit, else %."""
        return text(self.parameters, "unit", PERCENTAGE)

    async def async_set_native_value(self, value: float) -> None:
        """Ask the device to set it."""
        await self.send(self.key, "set", {"value": value})
