"""Diagnostics download: devices, pending devices, health, what was refused."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant

from .entry_data import AliciaConfigEntry

# A device's metadata is its own: any field whose name says secret, or says where
# the home is or which hardware it is, is redacted (users paste this into issues).
SECRET_PARTS = ("pass", "secret", "token", "key", "psk", "credential", "auth", "cookie")
PRIVATE = frozenset(
    {"username", "user", "signature", "serial", "serial_number", "mac", "ssid",
     "bssid", "ip", "ip_address", "latitude", "longitude", "email", "phone"}
)  # fmt: skip
# Fingerprints name keys without giving them: what a user compares with a device.
SHOWN = frozenset({"hub_key_fingerprint", "key_fingerprints", "key_changes"})


def is_private(name: str) -> bool:
    """Whether a field of this name is redacted."""
    lowered = name.lower()
    if lowered in SHOWN:
        return False
    return lowered in PRIVATE or any(part in lowered for part in SECRET_PARTS)


def redact(data: Any) -> Any:
    """The data with every private field's value redacted, at any depth."""
    if isinstance(data, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_private(key) else redact(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact(item) for item in data]
    return data


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AliciaConfigEntry
) -> dict[str, Any]:
    """What the hub knows."""
    hub = entry.runtime_data
    data: dict[str, Any] = redact(
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
        }
    )
    return data
