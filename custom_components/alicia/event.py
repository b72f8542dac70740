"""Events: physical buttons and remotes on the device."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from homeassistant.components.event import (
    EventDeviceClass,
    EventEntity,
    EventEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability, event_types
from .const import DOMAIN, SIGNAL_DEVICE_UPDATE
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 0
DEFAULT_EVENT_TYPES = ["press", "double_press", "long_press"]


@dataclass(frozen=True, kw_only=True)
class AliciaEventEntityDescription(EventEntityDescription):
    """An event of a capability, and the event type its reported value names."""

    value_fn: Callable[[Any], str] = str


# Capabilities that become events: a row each, keyed by the capability's name; the
# capability's parameters.events replace the default types.
DESCRIPTIONS: tuple[AliciaEventEntityDescription, ...] = (
    AliciaEventEntityDescription(key="button", translation_key="button", device_class=EventDeviceClass.BUTTON, event_types=DEFAULT_EVENT_TYPES),
    AliciaEventEntityDescription(key="remote", translation_key="remote", device_class=EventDeviceClass.BUTTON, event_types=DEFAULT_EVENT_TYPES),
    AliciaEventEntityDescription(key="doorbell", translation_key="doorbell", device_class=EventDeviceClass.DOORBELL, event_types=DEFAULT_EVENT_TYPES),
)  # fmt: skip


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Event entities as devices are approved."""

    def build(
        hub: AliciaHub,
        record: DeviceRecord,
        capability: Capability,
        description: AliciaEventEntityDescription,
    ) -> EventEntity:
        if (types := event_types(capability.parameters)) is not None:
            description = replace(description, event_types=types)
        return AliciaEvent(hub, record, capability.name, description)

    setup_platform(hass, entry.runtime_data, async_add_entities, DESCRIPTIONS, build)


class AliciaEvent(AliciaEntity, EventEntity):
    """Fires each time the device reports its capability (value = the event type)."""

    entity_description: AliciaEventEntityDescription

    async def async_added_to_hass(self) -> None:
        """Fire on each message naming this capability."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_DEVICE_UPDATE.format(self.hub.entry.entry_id, self.device_id),
                self._updated,
            )
        )

    @callback
    def _updated(self) -> None:
        device = self.hub.roster.devices.get(self.device_id)
        if device is not None and self.key in device.fresh_keys:
            event_type = self.entity_description.value_fn(self.reported)
            if event_type in (self.event_types or []):
                self._trigger_event(event_type)
                if self.registry_entry is not None and self.registry_entry.device_id:
                    # For device triggers (device_trigger.py).
                    self.hass.bus.async_fire(
                        f"{DOMAIN}_button",
                        {
                            "device_id": self.registry_entry.device_id,
                            "capability": self.key,
                            "type": event_type,
                        },
                    )
            device.fresh_keys.discard(self.key)
        self.async_write_ha_state()
