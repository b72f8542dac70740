"""The hub: alicia bus messages in, devices, entities and health out."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import logging
import time
from typing import TYPE_CHECKING, Any
import uuid

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store

from . import ha_bridge
from .announce import Announcement, Target, async_announce, resolve_players
from .capabilities import Capability, is_known, platform_for
from .const import (
    APPROVAL_AUTO,
    CONF_ALLOWED_ACTIONS,
    CONF_APPROVAL,
    CONF_HEARTBEAT_FACTOR,
    CONF_SECURITY_MODE,
    CONF_STALE_DAYS,
    CONF_TOPIC_PREFIX,
    DEFAULT_HEARTBEAT_FACTOR,
    DEFAULT_STALE_DAYS,
    DEFAULT_TOPIC_PREFIX,
    DOMAIN,
    HEALTH_CHECK_SECONDS,
    MAX_PENDING,
    PERMIT_SECONDS,
    SIGNAL_DEVICE_ADDED,
    SIGNAL_DEVICE_UPDATE,
    SIGNAL_HUB_UPDATE,
)
from .device_registry import find_device
from .guard import BusGuard
from .ha_bridge import DEFAULT_ALLOWED, Refused
from .protocol import Message, ProtocolError, read_message
from .security import MODE_VERIFY, HubKey, fingerprint, valid_public_key

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1
LOG_EVERY_SECONDS = 60.0
HUB_SOURCE = "home-assistant"
UNSIGNED = "none (unsigned)"


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
        """From a validated registration payload."""
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
    def unknown_capabilities(self) -> list[str]:
        """Capability names the integration cannot map to anything."""
        return [c.name for c in self.capabilities if not is_known(c)]


@dataclass(slots=True)
class Counters:
    """What the hub refused or dropped, for diagnostics."""

    messages: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unknown_device: int = 0
    pending_full: int = 0
    collisions: int = 0
    commands_refused: int = 0


class AliciaHub:
    """Holds the devices of one config entry and talks to them over MQTT."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        """Nothing is subscribed until async_start()."""
        self.hass = hass
        self.entry = entry
        self.prefix: str = entry.options.get(CONF_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX)
        self.options = dict(entry.options)
        self.devices: dict[str, DeviceRecord] = {}
        self.pending: OrderedDict[str, DeviceRecord] = OrderedDict()
        self.values: dict[str, dict[str, Any]] = {}
        self.health: dict[str, dict[str, Any]] = {}
        self.last_seen: dict[str, float] = {}
        self.last_keys: dict[str, set[str]] = {}
        self.offline: set[str] = set()
        self.counters = Counters()
        self.permit_until: float | None = None
        self._away: set[str] = set()
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._unsubscribe: list[Callable[[], None]] = []
        self._permit_timer: asyncio.TimerHandle | None = None
        self._last_log: dict[str, float] = {}
        # Devices whose entities exist in this run, and devices pending after a key change.
        self._active: set[str] = set()
        self.key_changes: dict[str, str | None] = {}
        self.guard = BusGuard(
            hass,
            entry.entry_id,
            HubKey(),
            entry.options.get(CONF_SECURITY_MODE, MODE_VERIFY),
        )

    @property
    def heartbeat_factor(self) -> float:
        """A device is unavailable after this many heartbeat intervals of silence."""
        return float(
            self.entry.options.get(CONF_HEARTBEAT_FACTOR, DEFAULT_HEARTBEAT_FACTOR)
        )

    @property
    def auto_approve(self) -> bool:
        """Whether new devices are trusted without asking."""
        return self.entry.options.get(CONF_APPROVAL) == APPROVAL_AUTO

    @property
    def permit_open(self) -> bool:
        """Whether the permit-new-devices window is open."""
        return self.permit_until is not None and time.monotonic() < self.permit_until

    # Lifecycle

    async def async_load(self) -> None:
        """Restore approved devices before any MQTT message arrives."""
        stored = await self._store.async_load() or {}
        if pem := stored.get("hub_key"):
            self.guard.key = HubKey(pem.encode())
        else:
            await self._store.async_save(self._data_to_save())
        self.key_changes = dict(stored.get("key_changes", {}))
        for document in stored.get("devices", []):
            record = DeviceRecord.from_document(document)
            self.devices[record.device_id] = record
        for document in stored.get("pending", [])[-MAX_PENDING:]:
            record = DeviceRecord.from_document(document)
            self.pending[record.device_id] = record

    async def async_start(self) -> None:
        # Also when the entry's setup fails after this point (HA runs on_unload then).
        self.entry.async_on_unload(self._stop_listening)
        """Subscribe to the bus and start checking health."""
        p = self.prefix
        for topic, handler in (
            (f"{p}/system/discovery/register", self._on_register),
            (f"{p}/system/discovery/register/+", self._on_register),
            (f"{p}/system/discovery/capabilities", self._on_register),
            (f"{p}/system/discovery/unregister", self._on_unregister),
            (f"{p}/system/health/heartbeat", self._on_heartbeat),
            (f"{p}/devices/+/status", self._on_status),
            (f"{p}/devices/+/data", self._on_data),
            (f"{p}/devices/sensors/telemetry", self._on_telemetry),
            (f"{p}/devices/speakers/announce", self._on_announce),
            (f"{p}/voice/command/response", self._on_voice_response),
            (f"{p}/integration/ha/command", self._on_ha_command),
        ):
            self._unsubscribe.append(
                await mqtt.async_subscribe(
                    self.hass, topic, handler, qos=1, encoding=None
                )
            )
        self._unsubscribe.append(
            async_track_time_interval(
                self.hass, self._check_health, timedelta(seconds=HEALTH_CHECK_SECONDS)
            )
        )
        self._publish_trust()

    async def async_stop(self) -> None:
        """Unsubscribe and save."""
        self._stop_listening()
        await self._store.async_save(self._data_to_save())

    @callback
    def _stop_listening(self) -> None:
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._permit_timer is not None:
            self._permit_timer.cancel()
            self._permit_timer = None
        self.guard.close()

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "devices": [r.document for r in self.devices.values()],
            "pending": [r.document for r in self.pending.values()],
            "key_changes": self.key_changes,
            "hub_key": self.guard.key.pem,
        }

    def _save(self) -> None:
        self._store.async_delay_save(self._data_to_save, 1)

    # Incoming messages

    def _read(self, message: ReceiveMessage, secure: bool = True) -> Any:
        self.counters.messages += 1
        payload = message.payload
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        if not raw and message.retain:
            return None  # a cleared retained registration
        try:
            read = read_message(message.topic, raw, self.prefix)
        except ProtocolError as err:
            self.counters.rejected[err.code] = (
                self.counters.rejected.get(err.code, 0) + 1
            )
            self._log_limited(
                err.code,
                "Rejected message on %s: %s (%s)",
                message.topic,
                err,
                err.code,
            )
            return None
        if secure and not self.admit(message, read, self.key_of(read.source)):
            return None
        return read

    def admit(self, message: ReceiveMessage, read: Message, key: str | None) -> bool:
        """The guard's verdict on a parsed message (rate, signature, replay)."""
        return self.guard.admit(message.topic, read, key, bool(message.retain))

    def key_of(self, source: str) -> str | None:
        """The approved key of a sender, if it has one."""
        record = self.devices.get(source)
        return record.public_key if record is not None else None

    def _log_limited(self, key: str, text: str, *args: Any) -> None:
        """At most one line per reason a minute: a flood must not flood the log too."""
        now = time.monotonic()
        if now - self._last_log.get(key, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS:
            self._last_log[key] = now
            _LOGGER.warning(text, *args)

    @callback
    def _on_register(self, message: ReceiveMessage) -> None:
        if (read := self._read(message, secure=False)) is None:
            return
        document = read.payload
        device_id = document["device_id"]
        offered = document.get("public_key")
        if offered is not None and not valid_public_key(offered):
            self.counters.rejected["invalid_field"] = (
                self.counters.rejected.get("invalid_field", 0) + 1
            )
            self._log_limited(
                "public_key",
                "Registration of %s: public_key is not an Ed25519 key",
                device_id,
            )
            return
        existing = self.devices.get(device_id)
        changed = False
        if read.source != device_id:
            key = self.key_of(read.source)  # a hub registering a device behind it
        elif existing is None:
            key = offered  # proof that the sender holds the key it offers
        else:
            changed = offered != existing.public_key
            key = offered if changed else existing.public_key
        if not self.admit(message, read, key):
            return
        topic_id = message.topic.rsplit("/", 1)[-1]
        if message.topic.count("/") == 4 and topic_id != device_id:
            self.counters.collisions += 1
            self._log_limited(
                "topic",
                "Registration for %s on the topic of %s refused",
                device_id,
                topic_id,
            )
            return
        if read.source not in (device_id, document.get("via_device")):
            self.counters.collisions += 1
            self._log_limited(
                "collision", "%s tried to register device %s: refused (a device registers itself or its children)",
                read.source, device_id,
            )  # fmt: skip
            return
        record = DeviceRecord.from_document(document)
        self.last_seen[device_id] = time.monotonic()
        if existing is not None and changed:
            self._key_changed(existing, record)
        elif device_id in self.devices:
            self._update_device(record)
        elif (
            self.auto_approve or self.permit_open
        ) and device_id not in self.key_changes:
            self.approve(record)
        else:
            self._add_pending(record)

    def _key_changed(self, old: DeviceRecord, record: DeviceRecord) -> None:
        """A known device with another key: untrusted until the user approves the new key."""
        device_id = record.device_id
        del self.devices[device_id]
        self.key_changes[device_id] = old.fingerprint
        self.guard.refuse("key_changed", device_id, "", "its key changed")
        _LOGGER.warning(
            "Device %s registered with a different key (%s, was %s): waiting for approval",
            device_id, record.fingerprint, old.fingerprint,
        )  # fmt: skip
        self._device_changed(device_id)
        self._add_pending(record)
        self._publish_trust()

    def _add_pending(self, record: DeviceRecord) -> None:
        if record.device_id not in self.pending and len(self.pending) >= MAX_PENDING:
            self.counters.pending_full += 1
            self._log_limited(
                "pending",
                "Pending list full (%s devices): %s not added",
                MAX_PENDING,
                record.device_id,
            )
            return
        self.pending[record.device_id] = record
        key_changed = record.device_id in self.key_changes
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"pending_{record.device_id}",
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR
            if key_changed
            else ir.IssueSeverity.WARNING,
            translation_key="key_changed" if key_changed else "pending_device",
            translation_placeholders={
                "device_id": record.device_id,
                "name": record.name,
                "device_type": record.device_type,
                "capabilities": ", ".join(c.name for c in record.capabilities)
                or "none",
                "fingerprint": record.fingerprint or UNSIGNED,
            }
            | (
                {"old_fingerprint": self.key_changes[record.device_id] or UNSIGNED}
                if key_changed
                else {}
            ),
            data={"entry_id": self.entry.entry_id, "device_id": record.device_id},
        )
        _LOGGER.info(
            "Device %s (%s) is waiting for approval", record.device_id, record.name
        )
        self._fire(
            "device_registered",
            record.device_id,
            name=record.name,
            device_type=record.device_type,
        )
        self._save()
        self._hub_changed()

    def approve(self, record: DeviceRecord | str) -> DeviceRecord:
        """Trust a device: mirror it into HA and create its entities."""
        if isinstance(record, str):
            record = self.pending[record]
        self.pending.pop(record.device_id, None)
        ir.async_delete_issue(self.hass, DOMAIN, f"pending_{record.device_id}")
        self.devices[record.device_id] = record
        self.key_changes.pop(record.device_id, None)
        self.guard.approved(record.device_id)
        self._activate(record)
        _LOGGER.info(
            "Device %s (%s) approved, key %s",
            record.device_id, record.name, record.fingerprint or "none (unsigned)",
        )  # fmt: skip
        self._publish_trust()
        self._fire(
            "device_approved",
            record.device_id,
            name=record.name,
            device_type=record.device_type,
        )
        self._save()
        self._hub_changed()
        return record

    def restore(self) -> None:
        """Recreate the stored devices' HA devices and entities (no approval again)."""
        for record in self.devices.values():
            self._activate(record)

    def _activate(self, record: DeviceRecord) -> None:
        self.last_seen.setdefault(record.device_id, time.monotonic())
        self._register_device(record)
        if record.device_id in self._active:
            # Approved again after a key change: its entities exist already.
            self._device_changed(record.device_id)
            return
        self._active.add(record.device_id)
        self._raise_unknown_capabilities(record)
        async_dispatcher_send(
            self.hass, SIGNAL_DEVICE_ADDED.format(self.entry.entry_id), record
        )

    def _update_device(self, record: DeviceRecord) -> None:
        old = self.devices[record.device_id]
        self.devices[record.device_id] = record
        if record.document == old.document:
            return
        self._register_device(record)
        self._raise_unknown_capabilities(record)
        removed = {c.name for c in old.capabilities} - {
            c.name for c in record.capabilities
        }
        entities = er.async_get(self.hass)
        for name in removed:
            for entry in er.async_entries_for_config_entry(
                entities, self.entry.entry_id
            ):
                if entry.unique_id == f"{record.device_id}_{name}":
                    entities.async_remove(entry.entity_id)
        async_dispatcher_send(
            self.hass, SIGNAL_DEVICE_ADDED.format(self.entry.entry_id), record
        )
        self._save()

    def _register_device(self, record: DeviceRecord) -> None:
        metadata = record.metadata
        location = metadata.get("location")
        registry = dr.async_get(self.hass)
        device = registry.async_get_or_create(
            config_entry_id=self.entry.entry_id,
            identifiers={(DOMAIN, record.device_id)},
            name=record.name,
            manufacturer=metadata.get("manufacturer"),
            model=metadata.get("model"),
            sw_version=metadata.get("version"),
            suggested_area=str(location).replace("_", " ").title()
            if location
            else None,
            entry_type=dr.DeviceEntryType.SERVICE
            if record.device_type == "service"
            else None,
        )
        via = None
        if record.via_device in self.devices:
            via = find_device(self.hass, self.entry.entry_id, record.via_device)
        if via is not None and via.id not in (device.id, device.via_device_id):
            registry.async_update_device(device.id, via_device_id=via.id)

    def _raise_unknown_capabilities(self, record: DeviceRecord) -> None:
        for name in record.unknown_capabilities:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                f"unknown_capability_{record.device_id}_{name}",
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="unknown_capability",
                translation_placeholders={
                    "device_id": record.device_id,
                    "name": record.name,
                    "capability": name,
                },
            )

    @callback
    def _on_unregister(self, message: ReceiveMessage) -> None:
        if (read := self._read(message)) is None:
            return
        device_id = read.payload["device_id"]
        if (
            read.source != device_id
            and read.source != self.devices.get(device_id, _NO_DEVICE).via_device
        ):
            self.counters.collisions += 1
            self._log_limited(
                "unregister", "%s may not unregister %s", read.source, device_id
            )
            return
        self.remove_device(device_id, clear_retained=False)

    def remove_device(self, device_id: str, clear_retained: bool = True) -> None:
        """Forget a device, in HA too; clear its retained registration so it does not return."""
        self.pending.pop(device_id, None)
        self.key_changes.pop(device_id, None)
        self._active.discard(device_id)
        ir.async_delete_issue(self.hass, DOMAIN, f"pending_{device_id}")
        ir.async_delete_issue(self.hass, DOMAIN, f"bad_signature_{device_id}")
        record = self.devices.pop(device_id, None)
        if record is not None:
            for name in record.unknown_capabilities:
                ir.async_delete_issue(
                    self.hass, DOMAIN, f"unknown_capability_{device_id}_{name}"
                )
            if (
                device := find_device(self.hass, self.entry.entry_id, device_id)
            ) is not None:
                dr.async_get(self.hass).async_remove_device(device.id)
            _LOGGER.info("Device %s removed", device_id)
            self._fire("device_removed", device_id)
        for table in (self.values, self.health, self.last_seen):
            table.pop(device_id, None)
        self.offline.discard(device_id)
        if record is not None:
            self._publish_trust()
        if clear_retained:
            self.hass.async_create_task(
                mqtt.async_publish(
                    self.hass,
                    f"{self.prefix}/system/discovery/register/{device_id}",
                    b"",
                    1,
                    True,
                )
            )
        self._save()
        self._hub_changed()

    @callback
    def _on_heartbeat(self, message: ReceiveMessage) -> None:
        if (read := self._read(message)) is None:
            return
        payload = read.payload
        device_id = payload.get("service_id") or payload.get("device_id")
        if device_id not in self.devices or read.source not in (
            device_id,
            self.devices[device_id].via_device,
        ):
            self.counters.unknown_device += 1
            return
        self.health[device_id] = payload
        self.last_seen[device_id] = time.monotonic()
        self.offline.discard(device_id)
        self._device_changed(device_id)

    @callback
    def _on_status(self, message: ReceiveMessage) -> None:
        device_id = message.topic.split("/")[-2]
        if device_id not in self.devices or (read := self._read(message)) is None:
            return
        if read.payload.get("state") == "offline":
            self.offline.add(device_id)
        else:
            self.offline.discard(device_id)
            self.last_seen[device_id] = time.monotonic()
        self._device_changed(device_id)

    @callback
    def _on_data(self, message: ReceiveMessage) -> None:
        device_id = message.topic.split("/")[-2]
        if device_id not in self.devices:
            self.counters.unknown_device += 1
            return
        if (read := self._read(message)) is None:
            return
        self._take_values(device_id, read.payload.get("values"))

    @callback
    def _on_telemetry(self, message: ReceiveMessage) -> None:
        if (read := self._read(message)) is None:
            return
        device_id = read.payload.get("device_id", read.source)
        if device_id not in self.devices or read.source not in (
            device_id,
            self.devices[device_id].via_device,
        ):
            self.counters.unknown_device += 1
            return
        self._take_values(device_id, read.payload.get("values"))

    def _take_values(self, device_id: str, values: Any) -> None:
        if not isinstance(values, dict):
            self.counters.rejected["invalid_field"] = (
                self.counters.rejected.get("invalid_field", 0) + 1
            )
            self._log_limited(
                "values", "Data from %s without a values object", device_id
            )
            return
        fresh = {str(k).lower(): v for k, v in values.items()}
        self.values.setdefault(device_id, {}).update(fresh)
        # Event entities fire on every message naming them, even with the same value.
        self.last_keys[device_id] = set(fresh)
        self.last_seen[device_id] = time.monotonic()
        self._device_changed(device_id)

    @callback
    def _on_announce(self, message: ReceiveMessage) -> None:
        if (read := self._read(message)) is not None:
            self.hass.async_create_task(self._announce(read), eager_start=True)

    async def _announce(self, read: Any) -> None:
        """Play a requested announcement; answer played or failed, and why."""
        payload, target = read.payload, read.payload.get("target") or {}
        reply = read.reply_to or f"{self.prefix}/devices/speakers/announce/response"
        try:
            volume = payload.get("volume")
            text, media = payload.get("message"), payload.get("media_url")
            if not isinstance(target, dict) or not isinstance(text or media, str):
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="nothing_to_say"
                )
            if volume is not None and (
                not isinstance(volume, int | float) or not 0 <= volume <= 1
            ):
                volume = None
            announcement = Announcement(
                message=text,
                media_url=media,
                language=payload.get("language"),
                volume=volume,
            )
            players = resolve_players(
                self.hass,
                self.entry.entry_id,
                Target(
                    entity_ids=tuple(filter(None, [target.get("entity_id")])),
                    area_ids=tuple(filter(None, [target.get("area")])),
                    alicia_device=target.get("device_id"),
                    location=target.get("location"),
                ),
            )
            played = await async_announce(
                self.hass,
                players,
                announcement,
                self.entry.options,
            )
            answer: dict[str, Any] = {"status": "played", "players": played}
            self._fire(
                "announcement_played",
                read.source,
                message=text or media,
                players=played,
            )
        except HomeAssistantError as err:
            answer = {
                "status": "failed",
                "error": {
                    "code": "failed",
                    "message": str(err) or (err.translation_key or "failed"),
                },
            }
        await self._respond(reply, read, answer)

    @callback
    def _on_ha_command(self, message: ReceiveMessage) -> None:
        if (read := self._read(message)) is not None:
            self.hass.async_create_task(self._ha_command(read), eager_start=True)

    async def _ha_command(self, read: Any) -> None:
        """Run an allowed HA action for an approved device; answer done or refused, and why."""
        reply = read.reply_to or f"{self.prefix}/integration/ha/command/response"
        allowed = tuple(self.entry.options.get(CONF_ALLOWED_ACTIONS, DEFAULT_ALLOWED))
        try:
            if read.source not in self.devices:
                raise Refused(f"{read.source} is not an approved device")
            await ha_bridge.run(
                self.hass, ha_bridge.check(self.hass, read.payload, allowed)
            )
            answer: dict[str, Any] = {"status": "done"}
        except Refused as err:
            self.counters.commands_refused += 1
            self._log_limited(
                "ha_command", "Refused HA command from %s: %s", read.source, err
            )
            answer = {
                "status": "refused",
                "error": {"code": "failed", "message": str(err)},
            }
        await self._respond(reply, read, answer)

    @callback
    def _on_voice_response(self, message: ReceiveMessage) -> None:
        """The bridge answered a voice command: tell automations what was said and answered."""
        if (read := self._read(message)) is None or "transcript" not in read.payload:
            return
        payload = read.payload
        self._fire(
            "voice_command",
            read.destination,
            transcript=payload.get("transcript"),
            answer=payload.get("answer"),
            language=payload.get("language"),
        )

    def _fire(self, kind: str, device_id: str, **data: Any) -> None:
        """An HA event for automations: alicia_<kind> with the device and details."""
        self.hass.bus.async_fire(f"{DOMAIN}_{kind}", {"device_id": device_id, **data})

    async def _respond(self, topic: str, read: Any, payload: dict[str, Any]) -> None:
        message = _envelope(
            read.source, "response", payload, correlation_id=read.message_id
        )
        await self.async_publish(topic, message)

    # Health

    def is_available(self, device_id: str) -> bool:
        """Online: not marked offline, and heard from within the heartbeat timeout."""
        record = self.devices.get(device_id)
        if record is None or device_id in self.offline:
            return False
        seen = self.last_seen.get(device_id)
        timeout = self.heartbeat_factor * record.heartbeat_interval
        return seen is not None and time.monotonic() - seen <= timeout

    @callback
    def _check_health(self, _now: datetime | None = None) -> None:
        for device_id in list(self.devices):
            available = self.is_available(device_id)
            if not available and device_id not in self._away:
                self._away.add(device_id)
                _LOGGER.info("Device %s is unavailable", device_id)
                self._fire("device_offline", device_id)
                self._device_changed(device_id)
            elif available and device_id in self._away:
                self._away.discard(device_id)
                _LOGGER.info("Device %s is back", device_id)
                self._fire("device_online", device_id)
                self._device_changed(device_id)
        stale_days = float(self.entry.options.get(CONF_STALE_DAYS, DEFAULT_STALE_DAYS))
        for device_id in self._away:
            seen = self.last_seen.get(device_id)
            if seen is not None and time.monotonic() - seen > stale_days * 86400:
                ir.async_create_issue(
                    self.hass, DOMAIN, f"stale_{device_id}", is_fixable=False,
                    severity=ir.IssueSeverity.WARNING, translation_key="stale_device",
                    translation_placeholders={"device_id": device_id, "days": f"{stale_days:g}"},
                )  # fmt: skip

    # Out

    async def async_command(
        self,
        device_id: str,
        capability: str,
        action: str,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Send a command envelope to a device."""
        message = _envelope(
            device_id,
            "command",
            {"capability": capability, "action": action, "params": params or {}},
        )
        await self.async_publish(f"{self.prefix}/devices/{device_id}/command", message)

    def envelope(
        self, destination: str, message_type: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """A message from the hub, for the other parts of the integration."""
        return _envelope(destination, message_type, payload)

    async def async_publish(
        self, topic: str, message: dict[str, Any], retain: bool = False
    ) -> None:
        """Publish a hub message, signed (docs/security.md)."""
        await mqtt.async_publish(
            self.hass, topic, self.guard.seal(topic, message), 1, retain
        )

    def _publish_trust(self) -> None:
        """Tell the bridges (retained, signed) which device keys are approved."""
        self.hass.async_create_task(
            self.guard.async_publish_trust(
                self.prefix,
                _envelope,
                [(d, r.public_key) for d, r in self.devices.items() if r.public_key],
            ),
            eager_start=False,
        )

    def set_security_mode(self, mode: str) -> None:
        """Apply a new security mode now, and tell the bridges."""
        self.options[CONF_SECURITY_MODE] = mode
        self.guard.mode = mode
        _LOGGER.info("Security mode: %s", mode)
        self._publish_trust()
        self._hub_changed()

    def set_permit(self, open_: bool) -> None:
        """Open the window for new devices (PERMIT_SECONDS), or close it."""
        self.permit_until = time.monotonic() + PERMIT_SECONDS if open_ else None
        if self._permit_timer is not None:
            self._permit_timer.cancel()
            self._permit_timer = None
        if open_:
            self._permit_timer = self.hass.loop.call_later(
                PERMIT_SECONDS, self._hub_changed
            )
        self._hub_changed()

    # Signals

    def _device_changed(self, device_id: str) -> None:
        async_dispatcher_send(
            self.hass, SIGNAL_DEVICE_UPDATE.format(self.entry.entry_id, device_id)
        )

    def _hub_changed(self) -> None:
        async_dispatcher_send(self.hass, SIGNAL_HUB_UPDATE.format(self.entry.entry_id))

    def platform_capabilities(
        self, record: DeviceRecord, platform: Any
    ) -> list[Capability]:
        """The device's capabilities that become entities on a platform."""
        return [c for c in record.capabilities if platform_for(c) == platform]


_NO_DEVICE = DeviceRecord("", "", "", [], {}, None, 60.0, {})


def _envelope(
    destination: str,
    message_type: str,
    payload: dict[str, Any],
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """A protocol version 1 message from the hub."""
    return {
        "protocol": 1,
        "message_id": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
        "source": HUB_SOURCE,
        "destination": destination,
        "message_type": message_type,
        "correlation_id": correlation_id,
        "reply_to": None,
        "payload": payload,
        "security": {},
    }
