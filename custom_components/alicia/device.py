"""One Alicia device: what it registered, and everything the hub knows of it now."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .bus.payloads import DeviceType, Health
from .bus.signing import fingerprint
from .bus.speaker import PLAYBACK
from .capabilities import Capability, is_known


@dataclass(slots=True)
class DeviceRecord:
    """An approved or pending device, from its capability document."""

    device_id: str
    device_type: str
    name: str
    capabilities: list[Capability]
    metadata: dict[str, Any]
    via_device: str | None
    heartbeat_interval: float
    document: dict[str, Any]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> DeviceRecord:
        """From a validated registration document (bus.payloads.Registration.document)."""
        return cls(
            device_id=document["device_id"],
            device_type=document["device_type"],
            name=str(document.get("name") or document["device_id"]),
            capabilities=[
                Capability.from_document(c) for c in document["capabilities"]
            ],
            metadata=dict(document.get("metadata") or {}),
            via_device=document.get("via_device"),
            heartbeat_interval=float(document.get("heartbeat_interval", 60)),
            document=document,
        )

    @property
    def public_key(self) -> str | None:
        """The key the device registered with (pinned once approved)."""
        key = self.document.get("public_key")
        return key if isinstance(key, str) else None

    @property
    def fingerprint(self) -> str | None:
        """SHA256:... of the device's key, as the user compares it."""
        return fingerprint(self.public_key) if self.public_key else None

    @property
    def plays_audio(self) -> bool:
        """A speaker: its type says so, or it can play audio (a media player in HA)."""
        return self.device_type == DeviceType.SPEAKER or any(
            c.name == PLAYBACK for c in self.capabilities
        )

    def unknown_capabilities(self, entities: Container[str]) -> list[str]:
        """Capability names the integration cannot map to anything."""
        return [c.name for c in self.capabilities if not is_known(c, entities)]


@dataclass(slots=True)
class AliciaDevice:
    """An approved device and its state: one object, instead of a table per fact."""

    record: DeviceRecord
    # What the user approved, when the device has since registered with less (a
    # capability gone for a while); None: the record is what was approved.
    granted: DeviceRecord | None = None
    # The latest value of each key it reported (capability names, lower case).
    values: dict[str, Any] = field(default_factory=dict)
    # The keys its latest data message named: event entities fire on each, even unchanged.
    fresh_keys: set[str] = field(default_factory=set)
    # Its latest heartbeat payload.
    health: dict[str, Any] | None = None
    # time.monotonic() when its heartbeats began to say what they say now.
    health_since: float | None = None
    # Its "unhealthy" repair issue is raised.
    health_issue: bool = False
    # time.monotonic() when it was last heard from.
    last_seen: float | None = None
    # It said "offline" on its status topic.
    offline: bool = False
    # The connection its newest online message named: its last will names it too.
    session: str | None = None
    # The newest status verified with its key: when it was sent, and the session of
    # the newest online (stored: an older one replayed, retained, is ignored).
    status_sent: datetime | None = None
    status_session: str | None = None
    # Reported unavailable (alicia_device_offline fired), until it is back.
    away: bool = False
    # Its HA device and entities exist in this run.
    active: bool = False

    @property
    def device_id(self) -> str:
        """Its id on the bus."""
        return self.record.device_id

    @property
    def name(self) -> str:
        """Its name."""
        return self.record.name

    @property
    def grant(self) -> DeviceRecord:
        """What the user approved: a registration asking for more waits for them."""
        return self.granted or self.record

    @property
    def public_key(self) -> str | None:
        """Its approved key."""
        return self.record.public_key

    @property
    def via_device(self) -> str | None:
        """The device it talks through, if any."""
        return self.record.via_device

    @property
    def health_status(self) -> Health | None:
        """What its latest heartbeat said (None before the first)."""
        status = (self.health or {}).get("status")
        return Health(status) if status in set(Health) else None

    def speaks_for(self, source: str) -> bool:
        """Whether a message from source may be about this device (itself, or its hub)."""
        return source in (self.record.device_id, self.record.via_device)
