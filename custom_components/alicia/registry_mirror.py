"""Alicia's devices mirrored into HA's registries: devices, stale entities, unknown capabilities."""

from __future__ import annotations

from collections.abc import Collection

from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.typing import UNDEFINED

from .approval_card import configuration_url, suggested_area
from .const import DOMAIN
from .device import DeviceRecord
from .device_registry import device_name, find_device
from .markdown import literal, title


class RegistryMirror:
    """One entry's devices in HA's device, entity and issue registries."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, entity_capabilities: Collection[str]
    ) -> None:
        """entity_capabilities: those with a platform's row (entity_tables.py)."""
        self.hass = hass
        self.entry_id = entry_id
        self.entity_capabilities = entity_capabilities

    def unknown_capabilities(self, record: DeviceRecord) -> list[str]:
        """The device's capabilities that neither become an entity nor describe it."""
        return record.unknown_capabilities(self.entity_capabilities)

    def register(self, record: DeviceRecord, via_known: bool) -> None:
        """Create or update the device's HA device (via_known: its via_device is ours).

        Its location is a suggestion for a device new to HA, shown on its approval
        card: a device HA knows stays where the user put it, whatever it registers.
        The link is one the user approved (approval.asks_more).
        """
        metadata = record.metadata
        area = suggested_area(metadata)
        known = find_device(self.hass, self.entry_id, record.device_id)
        registry = dr.async_get(self.hass)
        device = registry.async_get_or_create(
            config_entry_id=self.entry_id,
            identifiers={(DOMAIN, record.device_id)},
            name=device_name(self.hass, record.name, area, known),
            manufacturer=metadata.get("manufacturer"),
            model=metadata.get("model"),
            sw_version=metadata.get("version"),
            configuration_url=configuration_url(metadata),
            suggested_area=area if known is None else UNDEFINED,
            entry_type=dr.DeviceEntryType.SERVICE
            if record.device_type == "service"
            else None,
        )
        via = None
        if via_known and record.via_device is not None:
            via = find_device(self.hass, self.entry_id, record.via_device)
        if via is not None and via.id not in (device.id, device.via_device_id):
            registry.async_update_device(device.id, via_device_id=via.id)

    def raise_unknown_capabilities(self, record: DeviceRecord) -> None:
        """A repair issue for each capability HA makes nothing of."""
        for name in self.unknown_capabilities(record):
            ir.async_create_issue(
                self.hass, DOMAIN, f"unknown_capability_{record.device_id}_{name}",
                is_fixable=False, severity=ir.IssueSeverity.WARNING,
                translation_key="unknown_capability",
                translation_placeholders={
                    "device_id": record.device_id, "name": title(record.name),
                    "capability": literal(name),
                },
            )  # fmt: skip

    def remove_entities(self, old: DeviceRecord, new: DeviceRecord) -> None:
        """Remove the entities of capabilities the device no longer has."""
        removed = {c.name for c in old.capabilities} - {
            c.name for c in new.capabilities
        }
        unique_ids = {f"{new.device_id}_{name}" for name in removed}
        entities = er.async_get(self.hass)
        for entry in er.async_entries_for_config_entry(entities, self.entry_id):
            if entry.unique_id in unique_ids:
                entities.async_remove(entry.entity_id)

    def remove(self, record: DeviceRecord) -> None:
        """Remove the device's HA device and its unknown-capability issues."""
        for name in self.unknown_capabilities(record):
            ir.async_delete_issue(
                self.hass, DOMAIN, f"unknown_capability_{record.device_id}_{name}"
            )
        if (
            entry := find_device(self.hass, self.entry_id, record.device_id)
        ) is not None:
            dr.async_get(self.hass).async_remove_device(entry.id)
