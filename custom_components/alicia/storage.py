"""What the hub keeps across restarts: devices (and what was approved of them), pending devices, requests, its own key, the states it left retained."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
import logging
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .bus.home import is_entity_id
from .bus.plain_parts import plain_parts
from .bus.signing import KeyPair
from .bus.trust_list import list_serial
from .const import DOMAIN, MAX_PENDING
from .device import DeviceRecord

STORAGE_VERSION = 1
# As many entities as the bridge holds the states of (wyoming_services/bridge/home.py).
MAX_RETAINED = 5000
# As the config flow takes a topic prefix.
_PREFIX = re.compile(r"^[A-Za-z0-9_-]+$")

_LOGGER = logging.getLogger(__name__)


def _approved(document: dict[str, Any]) -> DeviceRecord:
    """An approved device's record, without what HA's writer could refuse (one warning)."""
    # Stored before registrations were checked whole: the device is the user's, kept.
    kept, dropped = plain_parts(document, "document")
    if dropped:
        _LOGGER.warning(
            "Stored device %s: %d value(s) not plain JSON within bounds dropped (%s)",
            document.get("device_id"),
            len(dropped),
            ", ".join(dropped[:3]),
        )
    return DeviceRecord.from_document(kept)


def _pending(documents: list[dict[str, Any]]) -> list[DeviceRecord]:
    """The newest pending devices; a stranger's document not plain JSON within bounds is dropped."""
    return [
        DeviceRecord.from_document(document)
        for document in documents[-MAX_PENDING:]
        if not plain_parts(document, "document")[1]
    ]


@dataclass(slots=True)
class Remembered:
    """What approval and health remember of devices besides their records."""

    # The newest registration taken of each device: when it was sent, the key that signed it.
    sent: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    # What devices that unregistered themselves had been granted, oldest first.
    tombstones: list[DeviceRecord] = field(default_factory=list)
    # The newest status taken of each approved device: when it was sent, its session.
    status: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    # Retained registrations and settings of removed devices MQTT did not clear yet.
    uncleared: list[str] = field(default_factory=list)

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> Remembered:
        """As async_load reads it from the store's document."""
        return cls(
            sent={
                device_id: (datetime.fromisoformat(sent), key)
                for device_id, (sent, key) in data.get("sent", {}).items()
            },
            tombstones=[_approved(d) for d in data.get("tombstones", [])],
            status={
                device_id: (datetime.fromisoformat(sent), session)
                for device_id, (sent, session) in data.get("status", {}).items()
            },
            uncleared=[t for t in data.get("uncleared", []) if isinstance(t, str)],
        )

    @property
    def document(self) -> dict[str, Any]:
        """As stored, beside the records."""
        return {
            "sent": {d: [t.isoformat(), key] for d, (t, key) in self.sent.items()},
            "tombstones": [record.document for record in self.tombstones],
            "status": {d: [t.isoformat(), s] for d, (t, s) in self.status.items()},
            "uncleared": self.uncleared,
        }


@dataclass(slots=True)
class Stored:
    """The stored state: what async_load reads back and async_save writes."""

    key: KeyPair | None = None
    devices: list[DeviceRecord] = field(default_factory=list)
    pending: list[DeviceRecord] = field(default_factory=list)
    key_changes: dict[str, str | None] = field(default_factory=dict)
    # What the user approved of devices that have since registered with less.
    granted: dict[str, DeviceRecord] = field(default_factory=dict)
    memory: Remembered = field(default_factory=Remembered)
    # The serial of the last trust list the hub signed (0: none yet).
    trust_serial: int = 0


def _trust_serial(value: Any) -> int:
    """The stored serial; 0 if none (stored before lists had one) or not one."""
    try:
        return 0 if value is None else list_serial(value, "trust_serial")
    except ValueError:
        _LOGGER.warning(
            "Stored trust_serial %r is not one: the time numbers lists", value
        )
        return 0


def _retained(data: Any) -> dict[str, set[str]]:
    """The entities whose state is retained, by topic prefix; at most MAX_RETAINED, valid ones."""
    retained: dict[str, set[str]] = {}
    if not isinstance(data, dict):  # stored before states were remembered
        return retained
    room = MAX_RETAINED
    for prefix, entity_ids in data.items():
        if not _PREFIX.fullmatch(prefix) or not isinstance(entity_ids, list):
            continue
        kept = {e for e in entity_ids[:room] if is_entity_id(e)}
        if kept:
            retained[prefix] = kept
            room -= len(kept)
    return retained


def _retained_document(retained: dict[str, set[str]]) -> dict[str, list[str]]:
    """As stored: at most MAX_RETAINED entity ids."""
    document: dict[str, list[str]] = {}
    room = MAX_RETAINED
    for prefix, entity_ids in retained.items():
        if room > 0 and entity_ids:
            document[prefix] = sorted(entity_ids)[:room]
            room -= len(document[prefix])
    return document


class HubStore:
    """HA's Store for one entry; private (0600), since it holds the hub's private key."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Nothing is read until async_load()."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", private=True
        )
        # Entities whose state HA left retained on the bus, by topic prefix
        # (ha_state.py keeps it): cleared at the next start if no longer exposed.
        self.retained: dict[str, set[str]] = {}

    async def async_load(self) -> Stored:
        """What was stored (nothing on a first start)."""
        data = await self._store.async_load() or {}
        pem = data.get("hub_key")
        self.retained = _retained(data.get("retained_states"))
        return Stored(
            key=KeyPair.from_pem(pem.encode()) if pem else None,
            devices=[_approved(d) for d in data.get("devices", [])],
            pending=_pending(data.get("pending", [])),
            key_changes=dict(data.get("key_changes", {})),
            granted={
                device_id: _approved(document)
                for device_id, document in data.get("granted", {}).items()
            },
            memory=Remembered.from_document(data),
            trust_serial=_trust_serial(data.get("trust_serial")),
        )

    def _shape(self, state: Stored) -> dict[str, Any]:
        """As stored."""
        if state.key is None:
            raise ValueError("the hub's key is made before anything is stored")
        return {
            **state.memory.document,
            "devices": [r.document for r in state.devices],
            "pending": [r.document for r in state.pending],
            "key_changes": state.key_changes,
            "granted": {d: r.document for d, r in state.granted.items()},
            "hub_key": state.key.pem.decode(),
            "retained_states": _retained_document(self.retained),
            "trust_serial": state.trust_serial,
        }

    async def async_save(self, state: Stored) -> None:
        """Write now."""
        await self._store.async_save(self._shape(state))

    def schedule_save(self, state: Callable[[], Stored]) -> None:
        """Write soon; state() gives what to write, at write time."""
        self._store.async_delay_save(lambda: self._shape(state()), 1)

    async def async_remove(self) -> None:
        """Delete what is stored (the entry is removed: its key goes too)."""
        await self._store.async_remove()
