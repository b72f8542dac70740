"""Sensors: measured values from capabilities, and each device's health figures."""

from __future__ import annotations

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
    Platform,
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

from .bus.payloads import Health
from .capabilities import Capability
from .device import DeviceRecord
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
DESCRIPTIONS: dict[str, SensorEntityDescription] = {
    "temperature": SensorEntityDescription(key="temperature", device_class=SensorDeviceClass.TEMPERATURE, native_unit_of_measurement=UnitOfTemperature.CELSIUS, state_class=MEASURED),
    "humidity": SensorEntityDescription(key="humidity", device_class=SensorDeviceClass.HUMIDITY, native_unit_of_measurement=PERCENTAGE, state_class=MEASURED),
    "illuminance": SensorEntityDescription(key="illuminance", device_class=SensorDeviceClass.ILLUMINANCE, native_unit_of_measurement=LIGHT_LUX, state_class=MEASURED),
    "power": SensorEntityDescription(key="power", device_class=SensorDeviceClass.POWER, native_unit_of_measurement=UnitOfPower.WATT, state_class=MEASURED),
    "energy": SensorEntityDescription(key="energy", device_class=SensorDeviceClass.ENERGY, native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR, state_class=SensorStateClass.TOTAL_INCREASING),
    "battery": SensorEntityDescription(key="battery", device_class=SensorDeviceClass.BATTERY, native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC),
    "pressure": SensorEntityDescription(key="pressure", device_class=SensorDeviceClass.PRESSURE, native_unit_of_measurement=UnitOfPressure.HPA, state_class=MEASURED),
    "co2": SensorEntityDescription(key="co2", device_class=SensorDeviceClass.CO2, native_unit_of_measurement=PPM, state_class=MEASURED),
    "voltage": SensorEntityDescription(key="voltage", device_class=SensorDeviceClass.VOLTAGE, native_unit_of_measurement=UnitOfElectricPotential.VOLT, state_class=MEASURED),
    "current": SensorEntityDescription(key="current", device_class=SensorDeviceClass.CURRENT, native_unit_of_measurement=UnitOfElectricCurrent.AMPERE, state_class=MEASURED),
    "signal_strength": SensorEntityDescription(key="signal_strength", device_class=SensorDeviceClass.SIGNAL_STRENGTH, native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False),
    "value": SensorEntityDescription(key="value", translation_key="value", state_class=MEASURED),
}  # fmt: skip

HEALTH: tuple[SensorEntityDescription, ...] = (
    SensorEntityDescription(key="cpu_usage", translation_key="cpu_usage", native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False),
    SensorEntityDescription(key="memory_usage", translation_key="memory_usage", native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False),
    SensorEntityDescription(key="response_time", translation_key="response_time", device_class=SensorDeviceClass.DURATION, native_unit_of_measurement=UnitOfTime.MILLISECONDS, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False),
    SensorEntityDescription(key="error_rate", translation_key="error_rate", native_unit_of_measurement=PERCENTAGE, state_class=MEASURED, entity_category=EntityCategory.DIAGNOSTIC, entity_registry_enabled_default=False),
)  # fmt: skip


HEALTH_STATUS = SensorEntityDescription(
    key="health_status",
    translation_key="health_status",
    device_class=SensorDeviceClass.ENUM,
    options=[str(status) for status in Health],
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Sensors for capabilities as devices are approved."""
    hub = entry.runtime_data

    def build(
        hub: AliciaHub, record: DeviceRecord, capability: Capability
    ) -> SensorEntity:
        description = DESCRIPTIONS[capability.name]
        unit = capability.parameters.get("unit")
        if capability.name == "value" and isinstance(unit, str):
            description = SensorEntityDescription(
                key="value",
                translation_key="value",
                state_class=MEASURED,
                native_unit_of_measurement=unit,
            )
        return AliciaSensor(hub, record, capability.name, description)

    def health(hub: AliciaHub, record: DeviceRecord) -> list[SensorEntity]:
        return [
            AliciaHealthStatus(hub, record, "health_status", HEALTH_STATUS),
            *(AliciaHealthSensor(hub, record, f"health_{d.key}", d) for d in HEALTH),
        ]

    async_add_entities([SecuritySensor(hub, "security_refused")])
    setup_platform(hass, hub, Platform.SENSOR, async_add_entities, build, extra=health)


class SecuritySensor(HubEntity, SensorEntity):
    """Messages refused for security; the attributes break them down (docs/security.md)."""

    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_state_class = SensorStateClass.TOTAL_INCREASING

    @property
    def native_value(self) -> int:
        """Refusals since HA started."""
        return self.hub.admission.audit.refused

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Counts by reason, the mode, the hub's key and who still sends unsigned."""
        admission = self.hub.admission
        return {
            "mode": str(admission.mode),
            "hub_key_fingerprint": admission.key.fingerprint,
            **dict(sorted(admission.audit.counts.items())),
            "unsigned_sources": sorted(admission.audit.unsigned_sources)[:50],
        }


class AliciaSensor(AliciaEntity, SensorEntity):
    """A value the device reports under its capability's name."""

    @property
    def native_value(self) -> Any:
        """The latest value, if it is a number."""
        value = self.reported
        return (
            value
            if isinstance(value, int | float) and not isinstance(value, bool)
            else None
        )


class AliciaHealthSensor(AliciaEntity, SensorEntity):
    """A health figure from the device's heartbeats."""

    @property
    def native_value(self) -> float | None:
        """From the latest heartbeat's metrics."""
        device = self.hub.devices.get(self.device_id)
        health = (device.health if device is not None else None) or {}
        value = health.get("metrics", {}).get(self.entity_description.key)
        if not isinstance(value, int | float):
            return None
        return (
            round(value * 100, 2)
            if self.entity_description.key == "error_rate"
            else value
        )


class AliciaHealthStatus(AliciaEntity, SensorEntity):
    """What the device's latest heartbeat says: healthy, degraded or unhealthy."""

    @property
    def native_value(self) -> str | None:
        """Unknown until the first heartbeat."""
        device = self.hub.devices.get(self.device_id)
        status = device.health_status if device is not None else None
        return str(status) if status is not None else None
