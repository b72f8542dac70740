"""Diagnostics download: devices, pending devices, health, what was refused."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .entry_data import AliciaConfigEntry

TO_REDACT = {"password", "username", "public_key", "signature", "token", "api_key"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AliciaConfigEntry
) -> dict[str, Any]:
    """What the hub knows."""
    hub = entry.runtime_data
    return async_redact_data(
        {
            "options": dict(entry.options),
            "permit_open": hub.approvals.permit_open,
            "devices": {
                device_id: {
                    "document": device.record.document,
                    "available": hub.health.is_available(device_id),
                    "unknown_capabilities": hub.mirror.unknown_capabilities(
                        device.record
                    ),
                    "values": device.values,
                    "health": device.health,
                }
                for device_id, device in hub.roster.devices.items()
            },
            "pending": {
                device_id: record.document
                for device_id, record in hub.approvals.pending.items()
            },
            "refused_registrations": dict(hub.approvals.refusals.reasons),
            "counters": asdict(hub.tally.counters),
            "security": {
                "mode": str(hub.security.mode),
                "hub_key_fingerprint": hub.security.fingerprint,
                "counts": dict(hub.security.audit.counts),
                "last_refusal": hub.security.audit.last,
                "unsigned_sources": sorted(hub.security.audit.unsigned_sources),
                "key_fingerprints": {
                    device_id: device.record.fingerprint
                    for device_id, device in hub.roster.devices.items()
                },
                "key_changes": hub.approvals.changes,
            },
        },
        TO_REDACT,
    )
