"""Devices joining and leaving: registrations, the user's approval, key changes, the permit window."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
import hashlib
import json
import logging
import time

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback
from homeassistant.helpers import issue_registry as ir

from .bus.payloads import Registration, Unregister
from .bus.signing import valid_public_key
from .bus_link import BusLink
from .const import DOMAIN, MAX_PENDING, PERMIT_SECONDS
from .context import DeviceLifecycle
from .device import AliciaDevice, DeviceRecord
from .markdown import literal
from .refusals import RefusedRegistrations
from .tally import Tally

_LOGGER = logging.getLogger(__name__)
UNSIGNED = "none (unsigned)"
# The registration's device_type, as the approval card says it.
TYPE_WORDS = {
    "sensor": "a sensor (it measures or detects)",
    "actuator": "an actuator (it switches or controls something)",
    "speaker": "a speaker",
    "service": "a service (software, such as the voice server)",
    "controller": "a controller (buttons or remotes)",
}


def type_in_words(device_type: str) -> str:
    """A device type in words (registrations carry only the types above)."""
    return TYPE_WORDS.get(device_type, literal(device_type))


class Approvals:
    """Who is waiting for the user, and what happens when they decide."""

    def __init__(self, hub: DeviceLifecycle, link: BusLink, tally: Tally) -> None:
        """Nobody waits yet; the store fills pending and key_changes."""
        self.hub = hub
        self.link = link
        self.tally = tally
        self.hass = hub.hass
        self.pending: OrderedDict[str, DeviceRecord] = OrderedDict()
        # Devices sent back to pending because their key changed: the old fingerprint.
        self.key_changes: dict[str, str | None] = {}
        self.permit_until: float | None = None
        self.refusals = RefusedRegistrations(hub.hass)
        self._permit_timer: asyncio.TimerHandle | None = None

    @property
    def permit_open(self) -> bool:
        """Whether the permit-new-devices window is open."""
        return self.permit_until is not None and time.monotonic() < self.permit_until

    def set_permit(self, open_: bool) -> None:
        """Open the window for new devices (PERMIT_SECONDS), or close it."""
        self.permit_until = time.monotonic() + PERMIT_SECONDS if open_ else None
        self.cancel_timer()
        if open_:
            self._permit_timer = self.hass.loop.call_later(
                PERMIT_SECONDS, self.hub.hub_changed
            )
        self.hub.hub_changed()

    def cancel_timer(self) -> None:
        """Stop the permit window's closing refresh (unload)."""
        if self._permit_timer is not None:
            self._permit_timer.cancel()
            self._permit_timer = None

    @callback
    def on_register(self, message: ReceiveMessage) -> None:
        """A capability document: update, approve, or add to pending."""
        hub, link, tally = self.hub, self.link, self.tally
        if (read := link.read(message, False, self.refusals.refused)) is None:
            return
        assert isinstance(read.body, Registration)
        registration = read.body
        device_id = registration.device_id
        offered = registration.public_key
        if offered is not None and not valid_public_key(offered):
            tally.counters.reject("invalid_field")
            self.refusals.refused(message.topic, "public_key is not an Ed25519 key")
            tally.log_limited(
                "public_key",
                "Registration of %s: public_key is not an Ed25519 key",
                device_id,
            )
            return
        existing = hub.devices.get(device_id)
        if read.source == device_id:
            # The sender proves it holds the key it offers (a new key is a request
            # the user decides on; the approved key stays until then).
            key = offered
        elif existing is not None and existing.via_device != read.source:
            tally.counters.collisions += 1
            tally.log_limited(
                "collision", "%s tried to register device %s, which is not behind it: refused",
                read.source, device_id,
            )  # fmt: skip
            return
        elif registration.via_device != read.source:
            tally.counters.collisions += 1
            tally.log_limited(
                "collision", "%s registered %s without naming itself as via_device: refused",
                read.source, device_id,
            )  # fmt: skip
            return
        else:
            key = hub.key_of(read.source)  # a hub registering a device behind it
        if not link.admit(message, read, key):
            return
        topic_id = message.topic.rsplit("/", 1)[-1]
        if message.topic.count("/") == 4 and topic_id != device_id:
            tally.counters.collisions += 1
            tally.log_limited(
                "topic",
                "Registration for %s on the topic of %s refused",
                device_id,
                topic_id,
            )
            return
        self.refusals.accepted(device_id)
        record = DeviceRecord.from_document(registration.document)
        if existing is not None and record.public_key != existing.public_key:
            self._key_change_requested(existing, record)
        elif existing is not None:
            existing.last_seen = time.monotonic()
            hub.update_device(existing, record)
        elif (
            hub.auto_approve or self.permit_open
        ) and device_id not in self.key_changes:
            self.approve(record)
        else:
            self._add_pending(record)

    def _key_change_requested(self, device: AliciaDevice, record: DeviceRecord) -> None:
        """A known device offers another key: the user decides; the approved key stays trusted.

        Until then, messages signed with the new key are refused and those signed
        with the approved one keep working, so a stranger's offer cannot cut a
        device off.
        """
        device_id = record.device_id
        self.key_changes[device_id] = device.record.fingerprint
        self.hub.admission.refuse("key_changed", device_id, "", "it offers another key")
        _LOGGER.warning(
            "Device %s offers a different key (%s; approved: %s): waiting for your decision",
            device_id, record.fingerprint, device.record.fingerprint,
        )  # fmt: skip
        self._add_pending(record)

    def _add_pending(self, record: DeviceRecord) -> None:
        if record.device_id not in self.pending and len(self.pending) >= MAX_PENDING:
            self.tally.counters.pending_full += 1
            self.tally.log_limited(
                "pending", "Pending list full (%s devices): %s not added",
                MAX_PENDING, record.device_id,
            )  # fmt: skip
            return
        self.pending[record.device_id] = record
        key_changed = record.device_id in self.key_changes
        placeholders = self.card(record)
        ir.async_create_issue(
            self.hass, DOMAIN, f"pending_{record.device_id}",
            is_fixable=True, is_persistent=False,
            severity=ir.IssueSeverity.ERROR if key_changed else ir.IssueSeverity.WARNING,
            translation_key="key_changed" if key_changed
            else "pending_device" if record.fingerprint else "pending_unsigned_device",
            translation_placeholders=placeholders,
            # The decision is bound to the key and to all the card shows
            # (repairs.ApproveDeviceFlow): a request changed meanwhile is not decided.
            data={
                "entry_id": self.hub.entry.entry_id,
                "device_id": record.device_id,
                "fingerprint": record.fingerprint or UNSIGNED,
                "shown": shown_digest(placeholders),
            },
        )  # fmt: skip
        _LOGGER.info(
            "Device %s (%s) is waiting for approval", record.device_id, record.name
        )
        self.hub.fire(
            "device_registered", record.device_id,
            name=record.name, device_type=record.device_type,
        )  # fmt: skip
        self.hub.save()
        self.hub.hub_changed()

    def card(self, record: DeviceRecord) -> dict[str, str]:
        """What the approval card shows of a request, as its placeholders."""
        metadata = record.metadata
        placeholders = {
            "device_id": record.device_id,
            "name": record.name,
            "device_type": type_in_words(record.device_type),
            # The card renders Markdown: a device's words must not become links or images.
            "manufacturer": literal(str(metadata.get("manufacturer") or "unknown")),
            "model": literal(str(metadata.get("model") or "unknown")),
            "capabilities": ", ".join(literal(c.name) for c in record.capabilities)
            or "none",
            "fingerprint": record.fingerprint or UNSIGNED,
        }
        if record.device_id in self.key_changes:
            placeholders["old_fingerprint"] = (
                self.key_changes[record.device_id] or UNSIGNED
            )
        return placeholders

    def still_shown(self, device_id: str, shown: str | None) -> bool:
        """Whether the pending request is still exactly what its card showed."""
        record = self.pending.get(device_id)
        return record is not None and (
            shown is None or shown_digest(self.card(record)) == shown
        )

    def approve(
        self, record: DeviceRecord | str, fingerprint: str | None = None
    ) -> AliciaDevice:
        """Trust a device: mirror it into HA and create its entities.

        fingerprint: the key the user was shown; approving refuses (KeyError) if the
        pending device now offers another one.
        """
        if isinstance(record, str):
            record = self.pending[record]
        if fingerprint is not None and (record.fingerprint or UNSIGNED) != fingerprint:
            raise KeyError(f"{record.device_id} now offers another key")
        self.pending.pop(record.device_id, None)
        ir.async_delete_issue(self.hass, DOMAIN, f"pending_{record.device_id}")
        self.key_changes.pop(record.device_id, None)
        ir.async_delete_issue(self.hass, DOMAIN, f"bad_signature_{record.device_id}")
        device = self.hub.add_device(record)
        self.hub.admission.approved(record.device_id)
        _LOGGER.info(
            "Device %s (%s) approved, key %s",
            record.device_id, record.name, record.fingerprint or UNSIGNED,
        )  # fmt: skip
        self.hub.publish_trust()
        self.hub.fire(
            "device_approved", record.device_id,
            name=record.name, device_type=record.device_type,
        )  # fmt: skip
        self.hub.save()
        self.hub.hub_changed()
        return device

    def reject(self, device_id: str) -> None:
        """The user's no: a new device is forgotten; a key change request is dropped."""
        if device_id in self.hub.devices and device_id in self.pending:
            self.pending.pop(device_id)
            self.key_changes.pop(device_id, None)
            ir.async_delete_issue(self.hass, DOMAIN, f"pending_{device_id}")
            _LOGGER.info("Key change of %s refused; its approved key stays", device_id)
            self.hub.save()
            self.hub.hub_changed()
            return
        self.remove(device_id)

    @callback
    def on_unregister(self, message: ReceiveMessage) -> None:
        """A device leaving (itself, or through the device it talks through)."""
        hub, link = self.hub, self.link
        if (read := link.read(message)) is None:
            return
        assert isinstance(read.body, Unregister)
        device_id = read.body.device_id
        device = hub.devices.get(device_id)
        if read.source != device_id and (
            device is None or not device.speaks_for(read.source)
        ):
            self.tally.counters.collisions += 1
            self.tally.log_limited(
                "unregister", "%s may not unregister %s", read.source, device_id
            )
            return
        self.remove(device_id, clear_retained=False)

    def remove(self, device_id: str, clear_retained: bool = True) -> None:
        """Forget a device, in HA too; clear its retained registration so it does not return."""
        self.pending.pop(device_id, None)
        self.key_changes.pop(device_id, None)
        for issue in (
            "pending", "bad_signature", "unhealthy", "stale", "hub_key_mismatch",
            "voice_server",
        ):  # fmt: skip
            ir.async_delete_issue(self.hass, DOMAIN, f"{issue}_{device_id}")
        self.hub.drop_device(device_id)
        if clear_retained:
            self.hass.async_create_task(
                mqtt.async_publish(
                    self.hass,
                    f"{self.hub.prefix}/system/discovery/register/{device_id}",
                    b"",
                    1,
                    True,
                )
            )
        self.hub.save()
        self.hub.hub_changed()


def shown_digest(placeholders: dict[str, str]) -> str:
    """One value for everything a card shows: a request changed meanwhile differs."""
    text = json.dumps(placeholders, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
