"""Devices joining and leaving: registrations, the user's approval, key changes, the permit window."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
import logging
import time

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.core import callback
from homeassistant.helpers import discovery_flow, issue_registry as ir

from .approval_card import (
    UNIQUE_ID_PREFIX,
    UNSIGNED,
    DeviceRequest,
    approved_card,
    ask_about_change,
    card,
    shown_digest,
    unique_id_of,
)
from .bus.payloads import Registration, Unregister
from .bus.signing import valid_public_key
from .bus_link import BusLink
from .const import DOMAIN, MAX_PENDING, PERMIT_SECONDS
from .context import DeviceLifecycle
from .device import AliciaDevice, DeviceRecord
from .refusals import RefusedRegistrations
from .registration_rules import asks_for_more, not_behind
from .tally import Tally

_LOGGER = logging.getLogger(__name__)


class Approvals:
    """Who is waiting for the user, and what happens when they decide."""

    def __init__(self, hub: DeviceLifecycle, link: BusLink, tally: Tally) -> None:
        """Nobody waits yet; the store fills pending and key_changes."""
        self.hub = hub
        self.link = link
        self.tally = tally
        self.hass = hub.hass
        self.pending: OrderedDict[str, DeviceRecord] = OrderedDict()
        # Requests the user chose to ignore (HA keeps an ignored entry): no card, no
        # slot among the pending; the newest of them, for when the user stops ignoring.
        self.ignored: OrderedDict[str, DeviceRecord] = OrderedDict()
        # Approved devices whose request waits in pending (another key, or more than
        # was approved): the approved fingerprint. They keep what was approved until then.
        self.changes: dict[str, str | None] = {}
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
        elif problem := not_behind(
            registration,
            read.source,
            existing.record if existing is not None else None,
            self.pending.get(device_id),
        ):
            tally.counters.collisions += 1
            tally.log_limited(
                "collision",
                "%s may not register %s: %s",
                read.source,
                device_id,
                problem,
            )
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
            if more := asks_for_more(existing.grant, record):
                self._more_requested(existing, record, more)
            else:
                if asks_for_more(record, existing.grant):  # less: the grant stays
                    existing.granted = existing.grant
                hub.update_device(existing, record)
        elif (
            (hub.auto_approve or self.permit_open)
            and device_id not in self.changes
            and not self.is_ignored(device_id)
        ):
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
        self.changes[device_id] = device.record.fingerprint
        self.hub.admission.refuse("key_changed", device_id, "", "it offers another key")
        _LOGGER.warning(
            "Device %s offers a different key (%s; approved: %s): waiting for your decision",
            device_id, record.fingerprint, device.record.fingerprint,
        )  # fmt: skip
        self._add_pending(record)

    def _more_requested(
        self, device: AliciaDevice, record: DeviceRecord, more: str
    ) -> None:
        """An approved device asks for more than the user approved: the user decides."""
        self.changes[record.device_id] = device.grant.fingerprint
        _LOGGER.warning(
            "Device %s asks for more than you approved (%s): waiting for your decision",
            record.device_id, more,
        )  # fmt: skip
        self._add_pending(record)

    def _add_pending(self, record: DeviceRecord) -> None:
        if self.is_ignored(record.device_id):
            self._ignore(record)
            return
        if record.device_id not in self.pending and len(self.pending) >= MAX_PENDING:
            self.tally.counters.pending_full += 1
            self.tally.log_limited(
                "pending", "Pending list full (%s devices): %s not added",
                MAX_PENDING, record.device_id,
            )  # fmt: skip
            return
        self.pending[record.device_id] = record
        self.offer(record)
        _LOGGER.info(
            "Device %s (%s) is waiting for approval", record.device_id, record.name
        )
        self.hub.fire(
            "device_registered", record.device_id,
            name=record.name, device_type=record.device_type,
        )  # fmt: skip
        self.hub.save()
        self.hub.hub_changed()

    def offer(self, record: DeviceRecord) -> None:
        """Show the request: a key change as a repair, a new device as a discovered one.

        The decision is bound to all the card shows: a request changed meanwhile
        replaces the card, and the old one decides nothing.
        """
        device_id = record.device_id
        placeholders = self.card(record)
        shown = shown_digest(placeholders)
        if not self.hass.is_running:
            return  # HA queues cards until it has started; hub.async_start offers them then
        if "old_fingerprint" in placeholders:
            ask_about_change(self.hass, self.hub.entry.entry_id, placeholders, shown)
            return
        self.withdraw(device_id, keep=shown)
        # HA starts one flow per request: the same card again changes nothing.
        discovery_flow.async_create_flow(
            self.hass, DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data=DeviceRequest(
                self.hub.entry.entry_id, device_id, placeholders["fingerprint"], shown
            ),
        )  # fmt: skip

    def withdraw(self, device_id: str | None = None, keep: str | None = None) -> None:
        """Close a device's cards (None: every device's), but a flow showing keep."""
        flows = self.hass.config_entries.flow
        for flow in flows.async_progress_by_init_data_type(
            DeviceRequest,
            lambda request: (
                device_id in (None, request.device_id) and request.shown != keep
            ),
            include_uninitialized=True,
        ):
            flows.async_abort(flow["flow_id"])
        for key_changed in [device_id] if device_id is not None else self.changes:
            ir.async_delete_issue(self.hass, DOMAIN, f"pending_{key_changed}")

    def is_ignored(self, device_id: str) -> bool:
        """Whether the user ignored the device's card (HA keeps an ignored entry)."""
        entry = self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, unique_id_of(device_id)
        )
        return entry is not None and entry.source == SOURCE_IGNORE

    def _ignore(self, record: DeviceRecord) -> None:
        """Keep an ignored request aside: the newest MAX_PENDING of them."""
        self.pending.pop(record.device_id, None)
        self.ignored.pop(record.device_id, None)
        self.ignored[record.device_id] = record
        if len(self.ignored) > MAX_PENDING:
            self.ignored.popitem(last=False)
        self.hub.save()
        self.hub.hub_changed()

    @callback
    def on_entry_changed(self, change: ConfigEntryChange, entry: ConfigEntry) -> None:
        """The user ignored a device's card, or stopped ignoring it (its card again)."""
        unique_id = entry.unique_id or ""
        if (
            entry.domain != DOMAIN
            or entry.source != SOURCE_IGNORE
            or not unique_id.startswith(UNIQUE_ID_PREFIX)
        ):
            return
        device_id = unique_id.removeprefix(UNIQUE_ID_PREFIX)
        if change is ConfigEntryChange.ADDED and device_id in self.pending:
            self._ignore(self.pending[device_id])
        elif change is ConfigEntryChange.REMOVED and device_id in self.ignored:
            self._add_pending(self.ignored.pop(device_id))

    def card(self, record: DeviceRecord) -> dict[str, str]:
        """What the approval card shows of a request, as its placeholders."""
        placeholders = card(record, self._name_of(record.via_device))
        approved = self.hub.devices.get(record.device_id)
        if record.device_id in self.changes and approved is not None:
            parent = self._name_of(approved.grant.via_device)
            placeholders |= approved_card(approved.grant, parent)
        return placeholders

    def _name_of(self, device_id: str | None) -> str | None:
        device = self.hub.devices.get(device_id) if device_id is not None else None
        return device.name if device is not None else None

    def decision_problem(
        self, device_id: str, fingerprint: str | None, shown: str | None
    ) -> str | None:
        """Why a decision on a card cannot be taken (a reason key), or None.

        fingerprint and shown: the key and the digest of all else the card showed.
        """
        if (record := self.pending.get(device_id)) is None:
            return "device_gone"
        placeholders = self.card(record)
        if fingerprint is not None and placeholders["fingerprint"] != fingerprint:
            return "key_changed_meanwhile"
        if shown is not None and shown_digest(placeholders) != shown:
            return "changed_meanwhile"
        return None

    def approve(
        self,
        record: DeviceRecord | str,
        fingerprint: str | None = None,
        shown: str | None = None,
    ) -> AliciaDevice:
        """Trust a device: mirror it into HA and create its entities.

        fingerprint: the key the user was shown; approving refuses (KeyError) if the
        pending device now offers another one. shown: the digest of the card the
        user decided on, whose flow ends by itself.
        """
        if isinstance(record, str):
            record = self.pending[record]
        if fingerprint is not None and (record.fingerprint or UNSIGNED) != fingerprint:
            raise KeyError(f"{record.device_id} now offers another key")
        self.pending.pop(record.device_id, None)
        self.withdraw(record.device_id, keep=shown)
        self.changes.pop(record.device_id, None)
        ir.async_delete_issue(self.hass, DOMAIN, f"bad_signature_{record.device_id}")
        if (device := self.hub.devices.get(record.device_id)) is not None:
            device.granted = None
            self.hub.update_device(device, record)  # another key, or more, approved
        else:
            device = self.hub.add_device(record)
        self.hub.admission.approved(record.device_id)
        # What it reported while waiting was refused: its entities would stay unknown.
        self.hass.async_create_task(self.link.async_request_report(record.device_id))
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

    def reject(self, device_id: str, shown: str | None = None) -> None:
        """The user's no: a new device is forgotten; a key change request is dropped.

        shown: the digest of the card the user decided on, whose flow ends by itself.
        """
        if device_id in self.hub.devices and device_id in self.pending:
            self.pending.pop(device_id)
            self.changes.pop(device_id, None)
            self.withdraw(device_id, keep=shown)
            _LOGGER.info("Key change of %s refused; its approved key stays", device_id)
            self.hub.save()
            self.hub.hub_changed()
            return
        self.remove(device_id, shown=shown)

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

    def remove(
        self, device_id: str, clear_retained: bool = True, shown: str | None = None
    ) -> None:
        """Forget a device, in HA too; clear its retained registration so it does not return."""
        self.pending.pop(device_id, None)
        self.ignored.pop(device_id, None)
        self.changes.pop(device_id, None)
        self.withdraw(device_id, keep=shown)
        for issue in (
            "bad_signature", "unhealthy", "stale", "hub_key_mismatch",
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
