"""Lights: on/off, brightness, colour temperature and colour, as the capability's parameters say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_RGB_COLOR,
    LightEntity,
    LightEntityDescription,
)
from homeassistant.components.light.const import ColorMode
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bus.numbers import is_number
from .capabilities import Capability, span
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 1


@dataclass(frozen=True, slots=True)
class LightState:
    """What a light reported, as HA reads it."""

    is_on: bool | None = None
    brightness: int | None = None
    color_temp_kelvin: int | None = None
    rgb_color: tuple[int, int, int] | None = None


def _integer(value: Any, low: int = 0, high: int = 2**31) -> int | None:
    """A reported number as an int within low..high (clamped); None if it is none."""
    return min(max(int(value), low), high) if is_number(value) else None


def light_state(value: Any) -> LightState:
    """A bool, a state ("on"/"off"), or {"state", "brightness", "color_temp_kelvin", "rgb_color"}."""
    if isinstance(value, bool):
        value = {"state": "on" if value else "off"}
    elif isinstance(value, str):
        value = {"state": value}
    elif not isinstance(value, dict):
        value = {}
    state = value.get("state")
    rgb = value.get("rgb_color")
    read = [_integer(c, 0, 255) for c in rgb] if isinstance(rgb, list) else []
    channels = [c for c in read if c is not None]
    return LightState(
        is_on=None if state is None else str(state).lower() == "on",
        brightness=_integer(value.get("brightness"), 0, 255),
        color_temp_kelvin=_integer(value.get("color_temp_kelvin"), 1, 1_000_000),
        rgb_color=(channels[0], channels[1], channels[2])
        if len(read) == len(channels) == 3
        else None,
    )


@dataclass(frozen=True, kw_only=True)
class AliciaLightEntityDescription(LightEntityDescription):
    """A light of a capability, and how its reported value reads."""

    value_fn: Callable[[Any], LightState] = light_state
    # Has brightness even when its parameters do not say so.
    dims: bool = False


# Capabilities that become lights: a row each, keyed by the capability's name.
DESCRIPTIONS: tuple[AliciaLightEntityDescription, ...] = (
    AliciaLightEntityDescription(key="light", name=None),
    AliciaLightEntityDescription(key="dimmer", name=None, dims=True),
    AliciaLightEntityDescription(key="bulb", name=None),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Lights as devices are approved."""
    setup_platform(
        hass, entry.runtime_data, async_add_entities, DESCRIPTIONS, AliciaLight
    )


# A colour temperature range when the parameters give none.
KELVINS = (2000.0, 6500.0)


class AliciaLight(AliciaEntity, LightEntity):
    """A light; colour modes from the capability's parameters."""

    entity_description: AliciaLightEntityDescription

    def __init__(
        self,
        hub: AliciaHub,
        record: DeviceRecord,
        capability: Capability,
        description: AliciaLightEntityDescription,
    ) -> None:
        """Its modes and range are read from the device's parameters as they are now."""
        super().__init__(hub, record, capability.name, description)

    @property
    def supported_color_modes(self) -> set[ColorMode]:
        """As the capability's parameters say."""
        params = self.parameters
        if params.get("color"):
            return {ColorMode.RGB} | (
                {ColorMode.COLOR_TEMP} if params.get("color_temp") else set()
            )
        if params.get("color_temp"):
            return {ColorMode.COLOR_TEMP}
        if params.get("brightness") or self.entity_description.dims:
            return {ColorMode.BRIGHTNESS}
        return {ColorMode.ONOFF}

    @property
    def min_color_temp_kelvin(self) -> int:
        """The warmest it goes (2000 K unless its parameters give a range)."""
        return self._kelvins[0]

    @property
    def max_color_temp_kelvin(self) -> int:
        """The coolest it goes (6500 K unless its parameters give a range)."""
        return self._kelvins[1]

    @property
    def _kelvins(self) -> tuple[int, int]:
        low, high = span(self.parameters, ("min_kelvin", "max_kelvin"), KELVINS)
        warmest, coolest = int(low), int(high)
        return (warmest, coolest) if 0 < warmest < coolest else (2000, 6500)

    @property
    def _reading(self) -> LightState:
        return self.entity_description.value_fn(self.reported)

    @property
    def is_on(self) -> bool | None:
        """As reported."""
        return self._reading.is_on

    @property
    def brightness(self) -> int | None:
        """0-255."""
        return self._reading.brightness

    @property
    def color_temp_kelvin(self) -> int | None:
        """Kelvin."""
        return self._reading.color_temp_kelvin

    @property
    def rgb_color(self) -> tuple[int, int, int] | None:
        """Red, green, blue."""
        return self._reading.rgb_color

    @property
    def color_mode(self) -> ColorMode:
        """The mode the reported state is in."""
        modes = self.supported_color_modes or {ColorMode.ONOFF}
        if ColorMode.RGB in modes and self.rgb_color is not None:
            return ColorMode.RGB
        if ColorMode.COLOR_TEMP in modes:
            return (
                ColorMode.COLOR_TEMP
                if self.color_temp_kelvin is not None or ColorMode.RGB not in modes
                else ColorMode.RGB
            )
        return next(iter(modes))

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn on, with any of brightness, colour temperature or colour."""
        params = {
            name: list(kwargs[attr]) if attr == ATTR_RGB_COLOR else kwargs[attr]
            for attr, name in (
                (ATTR_BRIGHTNESS, "brightness"),
                (ATTR_COLOR_TEMP_KELVIN, "color_temp_kelvin"),
                (ATTR_RGB_COLOR, "rgb_color"),
            )
            if attr in kwargs
        }
        await self.send(self.key, "turn_on", params)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn off."""
        await self.send(self.key, "turn_off")
