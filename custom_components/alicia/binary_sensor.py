"""Binary sensors: capabilities such as motion or doors, and each device's connectivity."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 0

DESCRIPTIONS: dict[str, BinarySensorEntityDescription] = {
    "motion": BinarySensorEntityDescription(
        key="motion", device_class=BinarySensorDeviceClass.MOTION
    ),
    "occupancy": BinarySensorEntityDescription(
        key="occupancy", device_class=BinarySensorDeviceClass.OCCUPANCY
    ),
    "door": BinarySensorEntityDescription(
        key="door", device_class=BinarySensorDeviceClass.DOOR
    ),
    "window": BinarySensorEntityDescription(
        key="window", device_class=BinarySensorDeviceClass.WINDOW
    ),
    "contact": BinarySensorEntityDescription(
        key="contact", device_class=BinarySensorDeviceClass.OPENING
    ),
    "moisture": BinarySensorEntityDescription(
        key="moisture", device_class=BinarySensorDeviceClass.MOISTURE
    ),
    "smoke": BinarySensorEntityDescription(
        key="smoke", device_class=BinarySensorDeviceClass.SMOKE
    ),
    "binary": BinarySensorEntityDescription(key="binary", translation_key="binary"),
}
CONNECTIVITY = BinarySensorEntityDescription(
    key="connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Binary sensors as devices are approved."""

    def build(
        hub: AliciaHub, record: DeviceRecord, capability: Capability
    ) -> BinarySensorEntity:
        return AliciaBinarySensor(
            hub, record, capability.name, DESCRIPTIONS[capability.name]
        )

    def health(hub: AliciaHub, record: DeviceRecord) -> list[BinarySensorEntity]:
        return [AliciaConnectivity(hub, record, "connectivity", CONNECTIVITY)]

    setup_platform(
        hass,
        entry.runtime_data,
        Platform.BINARY_SENSOR,
        async_add_entities,
        build,
        extra=health,
    )


class AliciaBinarySensor(AliciaEntity, BinarySensorEntity):
    """On or off as the device reports."""

    @property
    def is_on(self) -> bool | None:
        """True, false, or unknown for anything else."""
        value = self.reported
        if isinstance(value, str):
            value = {
                "on": True,
                "open": True,
                "true": True,
                "off": False,
                "closed": False,
                "false": False,
            }.get(value.lower())
        return value if isinstance(value, bool) else None


class AliciaConnectivity(AliciaEntity, BinarySensorEntity):
    """Connected while heartbeats arrive in time and the device has not said offline."""

    @property
    def available(self) -> bool:
        """Always: this entity is what tells whether the device is there."""
        return True

    @property
    def is_on(self) -> bool:
        """Connected."""
        return self.hub.is_available(self.device_id)
