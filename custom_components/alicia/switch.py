"""Switches: capabilities such as relays, and the hub's "permit new devices"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability
from .device import DeviceRecord
from .entity import AliciaEntity, HubEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 1


def on_off(value: Any) -> bool | None:
    """True or false, also as "on" or "off"; unknown for anything else."""
    if isinstance(value, str):
        value = {"on": True, "off": False}.get(value.lower())
    return value if isinstance(value, bool) else None


@dataclass(frozen=True, kw_only=True)
class AliciaSwitchEntityDescription(SwitchEntityDescription):
    """A switch of a capability, and how its reported value reads."""

    value_fn: Callable[[Any], bool | None] = on_off


# Capabilities that become switches: a row each, keyed by the capability's name.
DESCRIPTIONS: tuple[AliciaSwitchEntityDescription, ...] = (
    AliciaSwitchEntityDescription(key="switch", translation_key="switch"),
    AliciaSwitchEntityDescription(key="relay", translation_key="switch"),
    AliciaSwitchEntityDescription(key="outlet", translation_key="switch"),
    AliciaSwitchEntityDescription(key="plug", translation_key="switch"),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The permit switch, and switches as devices are approved."""
    hub = entry.runtime_data
    async_add_entities([PermitSwitch(hub, "permit")])

    def build(
        hub: AliciaHub,
        record: DeviceRecord,
        capability: Capability,
        description: AliciaSwitchEntityDescription,
    ) -> SwitchEntity:
        return AliciaSwitch(hub, record, capability.name, description)

    setup_platform(hass, hub, async_add_entities, DESCRIPTIONS, build)


class AliciaSwitch(AliciaEntity, SwitchEntity):
    """A device's switchable output."""

    entity_description: AliciaSwitchEntityDescription

    @property
    def is_on(self) -> bool | None:
        """As the device last reported, read as its row says."""
        return self.entity_description.value_fn(self.reported)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Ask the device to turn on."""
        await self.send(self.key, "turn_on")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Ask the device to turn off."""
        await self.send(self.key, "turn_off")


class PermitSwitch(HubEntity, SwitchEntity):
    """Lets new devices in without asking, for a few minutes (like Zigbee's permit join)."""

    _attr_entity_category = EntityCategory.CONFIG

    @property
    def is_on(self) -> bool:
        """Whether the window is open."""
        return self.hub.approvals.permit_open

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Open the window (an admin only: every device that comes meanwhile is approved)."""
        await self.async_require_admin()
        self.hub.approvals.set_permit(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Close the window."""
        self.hub.approvals.set_permit(False)
