"""Diagnostics download: devices, pending devices, health, what was refused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant

from .entry_data import AliciaConfigEntry

# A device's metadata is its own: any field whose name says secret, or says where
# the home is or which hardware it is, is redacted (users paste this into issues).
SECRET_PARTS = ("pass", "secret", "token", "key", "psk", "credential", "auth", "cookie")
# Whole words of a field's name (wifi_ssid, macAddress, serial-no).
PRIVATE_WORDS = frozenset(
    {"user", "username", "login", "signature", "serial", "sn", "mac", "ssid", "bssid",
     "ip", "ipv4", "ipv6", "host", "hostname", "latitude", "longitude", "lat", "lon",
     "lng", "email", "phone", "pwd", "pw", "pin", "imei"}
)  # fmt: skip
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# user:password@ in an address.
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def is_private(name: str) -> bool:
    """Whether a field of this name is redacted."""
    lowered = name.lower()
    words = {word.lower() for word in _WORDS.findall(name)}
    return not words.isdisjoint(PRIVATE_WORDS) or any(
        part in lowered for part in SECRET_PARTS
    )


def redact(data: Any) -> Any:
    """The data with every private field's value redacted, at any depth, and addresses' credentials."""
    if isinstance(data, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_private(key) else redact(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact(item) for item in data]
    if isinstance(data, str) and "@" in data:
        return _USERINFO.sub(f"{REDACTED}@", data)
    return data


def by_device(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Each device's own data redacted; its id, the key, shown as it is."""
    return {device_id: redact(data) for device_id, data in items}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AliciaConfigEntry
) -> dict[str, Any]:
    """What the hub knows."""
    hub = entry.runtime_data
    return {
        "options": redact(dict(entry.options)),
        "permit_open": hub.approvals.permit_open,
        "devices": by_device(
            (
                device_id,
                {
                    "document": device.record.document,
                    "available": hub.health.is_available(device_id),
                    "unknown_capabilities": hub.mirror.unknown_capabilities(
                        device.record
                    ),
                    "values": device.values,
                    "health": device.health,
                },
            )
            for device_id, device in hub.roster.devices.items()
        ),
        "pending": by_device(
            (device_id, record.document)
            for device_id, record in hub.approvals.pending.items()
        ),
        "refused_registrations": dict(hub.approvals.refusals.reasons),
        "counters": asdict(hub.tally.counters),
        # Fingerprints name keys without giving them: what a user compares with a device.
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
            "key_changes": redact(hub.approvals.changes),
        },
    }
