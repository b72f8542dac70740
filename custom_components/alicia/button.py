"""Buttons: actions a device offers, such as identify or restart."""

from __future__ import annotations

from homeassistant.components.button import (
    ButtonDeviceClass,
    ButtonEntity,
    ButtonEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 1

# Capabilities that become buttons: a row each, keyed by the capability's name.
DESCRIPTIONS: tuple[ButtonEntityDescription, ...] = (
    ButtonEntityDescription(key="identify", device_class=ButtonDeviceClass.IDENTIFY, entity_category=EntityCategory.CONFIG),
    ButtonEntityDescription(key="restart", device_class=ButtonDeviceClass.RESTART, entity_category=EntityCategory.CONFIG),
    ButtonEntityDescription(key="trigger", translation_key="trigger"),
)  # fmt: skip


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Buttons as devices are approved."""

    def build(
        hub: AliciaHub,
        record: DeviceRecord,
        capability: Capability,
        description: ButtonEntityDescription,
    ) -> ButtonEntity:
        return AliciaButton(hub, record, capability.name, description)

    setup_platform(hass, entry.runtime_data, async_add_entities, DESCRIPTIONS, build)


class AliciaButton(AliciaEntity, ButtonEntity):
    """Sends a press command."""

    async def async_press(self) -> None:
        """Ask the device to act."""
        await self.send(self.key, "press")
