"""Binary sensors: capabilities such as motion or doors, each device's connectivity, a bridge's hub key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability
from .device import DeviceRecord
from .device_data import serves_voice
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform
from .voice_health import hub_key_mismatch

PARALLEL_UPDATES = 0

# The strings a device may report for on and off.
STATES = {
    "on": True,
    "open": True,
    "true": True,
    "off": False,
    "closed": False,
    "false": False,
}


def on_open(value: Any) -> bool | None:
    """True, false, or unknown for anything else."""
    if isinstance(value, str):
        value = STATES.get(value.lower())
    return value if isinstance(value, bool) else None


@dataclass(frozen=True, kw_only=True)
class AliciaBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of a capability, and how its reported value reads."""

    value_fn: Callable[[Any], bool | None] = on_open


# Capabilities that become binary sensors: a row each, keyed by the capability's name.
DESCRIPTIONS: tuple[AliciaBinarySensorEntityDescription, ...] = (
    AliciaBinarySensorEntityDescription(key="motion", device_class=BinarySensorDeviceClass.MOTION),
    AliciaBinarySensorEntityDescription(key="occupancy", device_class=BinarySensorDeviceClass.OCCUPANCY),
    AliciaBinarySensorEntityDescription(key="door", device_class=BinarySensorDeviceClass.DOOR),
    AliciaBinarySensorEntityDescription(key="window", device_class=BinarySensorDeviceClass.WINDOW),
    AliciaBinarySensorEntityDescription(key="contact", device_class=BinarySensorDeviceClass.OPENING),
    AliciaBinarySensorEntityDescription(key="moisture", device_class=BinarySensorDeviceClass.MOISTURE),
    AliciaBinarySensorEntityDescription(key="smoke", device_class=BinarySensorDeviceClass.SMOKE),
    AliciaBinarySensorEntityDescription(key="binary", translation_key="binary"),
)  # fmt: skip
CONNECTIVITY = BinarySensorEntityDescription(
    key="connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)
# The bridge pins another HA key than HA signs with (its repair, on its device page).
HUB_KEY_MISMATCH = BinarySensorEntityDescription(
    key="hub_key_mismatch",
    translation_key="hub_key_mismatch",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Binary sensors as devices are approved."""

    def build(
        hub: AliciaHub,
        record: DeviceRecord,
        capability: Capability,
        description: AliciaBinarySensorEntityDescription,
    ) -> BinarySensorEntity:
        return AliciaBinarySensor(hub, record, capability.name, description)

    def health(hub: AliciaHub, record: DeviceRecord) -> list[BinarySensorEntity]:
        entities: list[BinarySensorEntity] = [
            AliciaConnectivity(hub, record, "connectivity", CONNECTIVITY)
        ]
        device = hub.roster.devices.get(record.device_id)
        if device is not None and serves_voice(hub.roster, device):
            entities.append(
                AliciaHubKeyMismatch(hub, record, "hub_key_mismatch", HUB_KEY_MISMATCH)
            )
        return entities

    setup_platform(
        hass,
        entry.runtime_data,
        async_add_entities,
        DESCRIPTIONS,
        build,
        extra=health,
    )


class AliciaBinarySensor(AliciaEntity, BinarySensorEntity):
    """On or off as the device reports, read as its row says."""

    entity_description: AliciaBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Unknown until the device reports something its row reads."""
        return self.entity_description.value_fn(self.reported)


class AliciaConnectivity(AliciaEntity, BinarySensorEntity):
    """Connected while heartbeats arrive in time and the device has not said offline."""

    @property
    def available(self) -> bool:
        """Always: this entity is what tells whether the device is there."""
        return True

    @property
    def is_on(self) -> bool:
        """Connected."""
        return self.hub.health.is_available(self.device_id)


class AliciaHubKeyMismatch(AliciaEntity, BinarySensorEntity):
    """On while the bridge pins another hub key than HA's; unknown until it says."""

    @property
    def is_on(self) -> bool | None:
        """From the bridge's latest heartbeat."""
        device = self.hub.roster.devices.get(self.device_id)
        return hub_key_mismatch(self.hub.roster, device) if device is not None else None
