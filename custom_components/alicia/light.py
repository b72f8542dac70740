"""Lights: on/off, brightness, colour temperature and colour, as the capability's parameters say."""

from __future__ import annotations

from typing import Any

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_RGB_COLOR,
    LightEntity,
    LightEntityDescription,
)
from homeassistant.components.light.const import ColorMode
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability
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
    """Lights as devices are approved."""

    def build(
        hub: AliciaHub, record: DeviceRecord, capability: Capability
    ) -> LightEntity:
        return AliciaLight(hub, record, capability)

    setup_platform(hass, entry.runtime_data, Platform.LIGHT, async_add_entities, build)


class AliciaLight(AliciaEntity, LightEntity):
    """A light; its value is a bool or {"state", "brightness", "color_temp_kelvin", "rgb_color"}."""

    def __init__(
        self, hub: AliciaHub, record: DeviceRecord, capability: Capability
    ) -> None:
        """Colour modes from the capability's parameters."""
        super().__init__(
            hub,
            record,
            capability.name,
            LightEntityDescription(key=capability.name, name=None),
        )
        params = capability.parameters
        if params.get("color"):
            modes = {ColorMode.RGB} | (
                {ColorMode.COLOR_TEMP} if params.get("color_temp") else set()
            )
        elif params.get("color_temp"):
            modes = {ColorMode.COLOR_TEMP}
        elif params.get("brightness") or capability.name == "dimmer":
            modes = {ColorMode.BRIGHTNESS}
        else:
            modes = {ColorMode.ONOFF}
        self._attr_supported_color_modes = modes
        self._attr_min_color_temp_kelvin = int(params.get("min_kelvin", 2000))
        self._attr_max_color_temp_kelvin = int(params.get("max_kelvin", 6500))

    def _state(self) -> dict[str, Any]:
        value = self.reported
        if isinstance(value, dict):
            return value
        if isinstance(value, bool):
            return {"state": "on" if value else "off"}
        if isinstance(value, str):
            return {"state": value}
        return {}

    @property
    def is_on(self) -> bool | None:
        """As reported."""
        state = self._state().get("state")
        return None if state is None else str(state).lower() == "on"

    @property
    def brightness(self) -> int | None:
        """0-255."""
        value = self._state().get("brightness")
        return int(value) if isinstance(value, int | float) else None

    @property
    def color_temp_kelvin(self) -> int | None:
        """Kelvin."""
        value = self._state().get("color_temp_kelvin")
        return int(value) if isinstance(value, int | float) else None

    @property
    def rgb_color(self) -> tuple[int, int, int] | None:
        """Red, green, blue."""
        value = self._state().get("rgb_color")
        if isinstance(value, list) and len(value) == 3:
            return (int(value[0]), int(value[1]), int(value[2]))
        return None

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
        await self.hub.async_command(self.device_id, self.key, "turn_on", params)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn off."""
        await self.hub.async_command(self.device_id, self.key, "turn_off")
