"""Binary sensors: capabilities such as motion or doors, each device's connectivity, a bridge's hub key."""

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
from .voice_health import hub_key_mismatch, is_voice_server

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
        hub: AliciaHub, record: DeviceRecord, capability: Capability
    ) -> BinarySensorEntity:
        return AliciaBinarySensor(
            hub, record, capability.name, DESCRIPTIONS[capability.name]
        )

    def health(hub: AliciaHub, record: DeviceRecord) -> list[BinarySensorEntity]:
        entities: list[BinarySensorEntity] = [
            AliciaConnectivity(hub, record, "connectivity", CONNECTIVITY)
        ]
        device = hub.devices.get(record.device_id)
        if device is not None and is_voice_server(hub, device):
            entities.append(
                AliciaHubKeyMismatch(hub, record, "hub_key_mismatch", HUB_KEY_MISMATCH)
            )
        return entities

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


class AliciaHubKeyMismatch(AliciaEntity, BinarySensorEntity):
    """On while the bridge pins another hub key than HA's; unknown until it says."""

    @property
    def is_on(self) -> bool | None:
        """From the bridge's latest heartbeat."""
        device = self.hub.devices.get(self.device_id)
        return hub_key_mismatch(self.hub, device) if device is not None else None
