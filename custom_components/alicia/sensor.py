"""Sensors: measured values from capabilities, and each device's health figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant import const as ha_const
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfPressure,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .bus.payloads import Health
from .capabilities import Capability, text
from .device import AliciaDevice, DeviceRecord
from .entity import AliciaEntity, HubEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 0

# HA 2026.11 moved ppm into UnitOfRatio and deprecated the old constant; 2026.2
# has only the constant. Both are the string "ppm".
PPM: str = (
    ratio.PARTS_PER_MILLION
    if (ratio := getattr(ha_const, "UnitOfRatio", None)) is not None
    else ha_const.CONCENTRATION_PARTS_PER_MILLION
)

MEASURED = SensorStateClass.MEASUREMENT


def number(value: Any) -> float | None:
    """A reported number; anything else (a bool too) is unknown."""
    return (
        value
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None
    )


def figure(value: Any) -> float | None:
    """A heartbeat's figure as it came."""
    return value if isinstance(value, int | float) else None


def percent(value: Any) -> float | None:
    """A heartbeat's share (0 to 1) in percent."""
    return round(value * 100, 2) if isinstance(value, int | float) else None


def capability_value(device: AliciaDevice, key: str) -> Any:
    """What the device's data last said under the capability's name."""
    return device.values.get(key)


def heartbeat_metric(device: AliciaDevice, key: str) -> Any:
    """A figure of the device's latest heartbeat."""
    return (device.health or {}).get("metrics", {}).get(key)


@dataclass(frozen=True, kw_only=True)
class AliciaSensorEntityDescription(SensorEntityDescription):
    """A sensor of a device: where its value is reported, and how it reads."""

    reported_fn: Callable[[AliciaDevice, str], Any] = capability_value
    value_fn: Callable[[Any], StateType] = number
    # The capability's parameters.unit replaces the row's unit.
    unit_from_parameters: bool = False


# Capabilities that become sensors: a row each, keyed by the capability's name.
DESCRIPTIONS: tuple[AliciaSensorEntityDescription, ...] = (
    AliciaSensorEntityDescription(key="temperature", device_class=SensorDeviceClass.TEMPERATURE, native_unit_of_measurement=UnitOfTemperature.CELSIUS, state_class=MEASURED),
    AliciaSensorEntityDescription(key="humidity", device_class=SensorDeviceClass.HUMIDITY, native_unit_of_measurement=PERCENTAGE, state_class=MEASURED),
    AliciaSensorEntityDescription(key="illuminance", device_class=SensorDeviceClass.ILLUMINANCE, native_unit_of_measurement=LIGHT_LUX, state_class=MEASURED),
    AliciaSensorEntityDescription(key="power", device_class=SensorDeviceClass.POWER, native_unit_of_measurement=UnitOfPower.WATT, state_class=MEASURED),
    AliciaSensorEntityDescription(key="energy", device_class=SensorDeviceClass.ENERGY, native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR, state_class=SensorStateClass.TOTAL_INCREASING),
    AliciaSensorEntityDescription(key="battery", device_class=SensorDeviceClass.BATTERY, native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC),
    AliciaSensorEntityDescription(key="pressure", device_class=SensorDeviceClass.PRESSURE, native_unit_of_measurement=UnitOfPressure.HPA, state_class=MEASURED),
    AliciaSensorEntityDescription(key="co2", device_class=SensorDeviceClass.CO2, native_unit_of_measurement=PPM, state_class=MEASURED),
    AliciaSensorEntityDescription(key="voltage", device_class=SensorDeviceClass.VOLTAGE, native_unit_of_measurement=UnitOfElectricPotential.VOLT, state_class=MEASURED),
    AliciaSensorEntityDescription(key="current", device_class=SensorDeviceClass.CURRENT, native_unit_of_measurement=UnitOfElectricCurrent.AMPERE, state_class=MEASURED),
    AliciaSensorEntityDescription(key="signal_strength", device_class=SensorDeviceClass.SIGNAL_STRENGTH, native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False),
    AliciaSensorEntityDescription(key="value", translation_key="value", state_class=MEASURED, unit_from_parameters=True),
)  # fmt: skip

# Every device's health, from its heartbeats (entity keys health_<key>).
HEALTH: tuple[AliciaSensorEntityDescription, ...] = (
    AliciaSensorEntityDescription(key="cpu_usage", translation_key="cpu_usage", native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False, reported_fn=heartbeat_metric, value_fn=figure),
    AliciaSensorEntityDescription(key="memory_usage", translation_key="memory_usage", native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False, reported_fn=heartbeat_metric, value_fn=figure),
    AliciaSensorEntityDescription(key="response_time", translation_key="response_time", device_class=SensorDeviceClass.DURATION, native_unit_of_measurement=UnitOfTime.MILLISECONDS, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False, reported_fn=heartbeat_metric, value_fn=figure),
    AliciaSensorEntityDescription(key="error_rate", translation_key="error_rate", native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False, reported_fn=heartbeat_metric, value_fn=percent),
)  # fmt: skip

HEALTH_STATUS = AliciaSensorEntityDescription(
    key="health_status",
    translation_key="health_status",
    device_class=SensorDeviceClass.ENUM,
    options=[str(status) for status in Health],
    entity_category=EntityCategory.DIAGNOSTIC,
    reported_fn=lambda device, _: device.health_status,
    value_fn=lambda status: str(status) if status is not None else None,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Sensors for capabilities as devices are approved."""
    hub = entry.runtime_data

    def build(
        hub: AliciaHub,
        record: DeviceRecord,
        capability: Capability,
        description: AliciaSensorEntityDescription,
    ) -> SensorEntity:
        return AliciaSensor(hub, record, capability.name, description)

    def health(hub: AliciaHub, record: DeviceRecord) -> list[SensorEntity]:
        return [
            AliciaSensor(hub, record, "health_status", HEALTH_STATUS),
            *(AliciaSensor(hub, record, f"health_{d.key}", d) for d in HEALTH),
        ]

    async_add_entities([SecuritySensor(hub, "security_refused")])
    setup_platform(hass, hub, async_add_entities, DESCRIPTIONS, build, extra=health)


class SecuritySensor(HubEntity, SensorEntity):
    """Messages refused for security; the attributes break them down (docs/security.md)."""

    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_state_class = SensorStateClass.TOTAL_INCREASING

    @property
    def native_value(self) -> int:
        """Refusals since HA started."""
        return self.hub.security.audit.refused

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Counts by reason, the mode, the hub's key and who still sends unsigned."""
        security = self.hub.security
        return {
            "mode": str(security.mode),
            "hub_key_fingerprint": security.fingerprint,
            **dict(sorted(security.audit.counts.items())),
            "unsigned_sources": sorted(security.audit.unsigned_sources)[:50],
        }


class AliciaSensor(AliciaEntity, SensorEntity):
    """A value the device reports, read as its row says."""

    entity_description: AliciaSensorEntityDescription

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Its row's unit; for a "value", the capability's unit as registered now."""
        unit = self.entity_description.native_unit_of_measurement
        if self.entity_description.unit_from_parameters:
            return text(self.parameters, "unit", "") or unit
        return unit

    @property
    def native_value(self) -> StateType:
        """The latest value, unknown until the device reports one."""
        if (device := self.hub.roster.devices.get(self.device_id)) is None:
            return None
        description = self.entity_description
        return description.value_fn(description.reported_fn(device, description.key))
