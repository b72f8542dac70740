"""What the hub keeps across restarts: devices (and what was approved of them), pending devices, requests, its own key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .bus.signing import KeyPair
from .const import DOMAIN, MAX_PENDING
from .device import DeviceRecord

STORAGE_VERSION = 1
# What approval and health remember of devices besides their records (Stored.memory).
MEMORY = ("sent", "tombstones", "status")


@dataclass(slots=True)
class Stored:
    """The stored state, read back."""

    key: KeyPair | None = None
    devices: list[DeviceRecord] = field(default_factory=list)
    pending: list[DeviceRecord] = field(default_factory=list)
    key_changes: dict[str, str | None] = field(default_factory=dict)
    # What the user approved of devices that have since registered with less.
    granted: dict[str, DeviceRecord] = field(default_factory=dict)
    # What approval remembers besides (registration_memory.py), and the newest
    # status taken of each device: "sent", "tombstones", "status".
    memory: dict[str, Any] = field(default_factory=dict)


class HubStore:
    """HA's Store for one entry; private (0600), since it holds the hub's private key."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Nothing is read until async_load()."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", private=True
        )

    async def async_load(self) -> Stored:
        """What was stored (nothing on a first start)."""
        data = await self._store.async_load() or {}
        pem = data.get("hub_key")
        return Stored(
            key=KeyPair.from_pem(pem.encode()) if pem else None,
            devices=[DeviceRecord.from_document(d) for d in data.get("devices", [])],
            pending=[
                DeviceRecord.from_document(d)
                for d in data.get("pending", [])[-MAX_PENDING:]
            ],
            key_changes=dict(data.get("key_changes", {})),
            granted={
                device_id: DeviceRecord.from_document(document)
                for device_id, document in data.get("granted", {}).items()
            },
            memory={k: data[k] for k in MEMORY if k in data},
        )

    @staticmethod
    def _shape(state: tuple[Any, ...]) -> dict[str, Any]:
        """As stored: state is (key, devices, pending, key_changes, granted, memory)."""
        key, devices, pending, key_changes, granted, memory = state
        return {
            **memory,
            "devices": [r.document for r in devices],
            "pending": [r.document for r in pending],
            "key_changes": key_changes,
            "granted": {device_id: r.document for device_id, r in granted.items()},
            "hub_key": key.pem.decode(),
        }

    async def async_save(self, *state: Any) -> None:
        """Write now (key, devices, pending, key_changes, granted, memory)."""
        await self._store.async_save(self._shape(state))

    def schedule_save(self, state: Any) -> None:
        """Write soon; state() gives what async_save takes, at write time."""
        self._store.async_delay_save(lambda: self._shape(state()), 1)
