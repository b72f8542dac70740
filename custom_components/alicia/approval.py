"""Devices joining and leaving: registrations, the user's approval, key changes, the permit window."""

from __future__ import annotations

import asyncio
import logging
import time

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from .approval_card import UNSIGNED, new_link, request_kind
from .bus.payloads import Registration, Unregister
from .bus.policy import Mode
from .bus.signing import valid_public_key
from .bus_link import BusLink
from .const import DOMAIN, PERMIT_SECONDS
from .context import DeviceLifecycle
from .device import AliciaDevice, DeviceRecord
from .pending import PendingRequests
from .refusals import RefusedRegistrations
from .registration_memory import Newest, Tombstones
from .registration_rules import asks_beyond, asks_for_more, not_behind
from .tally import Tally

_LOGGER = logging.getLogger(__name__)


def asks_more(approved: DeviceRecord, offered: DeviceRecord) -> str | None:
    """What a registration asks beyond the approval, in words, or None.

    More authority (asks_for_more), or another web page for the device's page to
    link to: the user approved the link they were shown.
    """
    more = (asks_for_more(approved, offered), new_link(approved, offered))
    return "; ".join(m for m in more if m) or None


class Approvals(PendingRequests):
    """Who is waiting for the user, and what happens when they decide."""

    def __init__(self, hub: DeviceLifecycle, link: BusLink, tally: Tally) -> None:
        """Nobody waits yet; the store fills pending, changes and what is remembered."""
        super().__init__(hub, tally)
        self.link = link
        self.permit_until: float | None = None
        self.refusals = RefusedRegistrations(hub.hass, hub.devices)
        self.newest = Newest()
        self.tombstones = Tombstones()
        self._permit_timer: asyncio.TimerHandle | None = None
        # Retained registrations (and settings) to clear that MQTT did not take yet;
        # stored: a restart before MQTT is back must not undo a removal.
        self.uncleared: set[str] = set()

    def clear_retained(self) -> None:
        """Clear the retained registrations and settings of devices forgotten (again, when MQTT connects)."""
        for topic in list(self.uncleared):
            self.hass.async_create_task(self._clear(topic), eager_start=True)

    async def _clear(self, topic: str) -> None:
        try:
            await mqtt.async_publish(self.hass, topic, b"", 1, True)
        except HomeAssistantError as err:
            # MQTT is down: its retained copy would bring the device back.
            _LOGGER.debug("Retained registration on %s not cleared: %s", topic, err)
            return
        self.uncleared.discard(topic)
        self.hub.save()

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
        if message.retain and message.topic in self.uncleared:
            # The broker's copy of a removed device's registration, not cleared yet.
            _LOGGER.debug(
                "Retained registration on %s being cleared: ignored", message.topic
            )
            return
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
            # the user decides on; the approved key stays until then). Offering none
            # as before, a child is its hub's word: unsigned, it would be anyone's.
            key = offered
            if offered is None and existing is not None and existing.public_key is None:
                key = hub.key_of(device_id)
        elif problem := not_behind(
            registration,
            read.source,
            existing.record if existing is not None else None,
            self.pending.get(device_id),
            read.source in hub.devices,
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
        signer = key if hub.admission.mode is not Mode.OFF else None
        if self.newest.is_old(device_id, signer, read.timestamp):
            # An old registration replayed (retained ones skip the replay window).
            _LOGGER.debug(
                "Registration of %s sent %s, before the one taken: ignored",
                device_id, read.timestamp.isoformat(),
            )  # fmt: skip
            return
        self.refusals.accepted(device_id)
        record = DeviceRecord.from_document(registration.document)
        if existing is not None and record.public_key != existing.public_key:
            self._key_change_requested(existing, record)
            return
        self.newest.took(device_id, signer, read.timestamp)
        if existing is not None:
            existing.last_seen = time.monotonic()
            if more := asks_more(existing.grant, record):
                self._more_requested(existing, record, more)
            else:
                if asks_more(record, existing.grant):  # less: the grant stays
                    existing.granted = existing.grant
                hub.update_device(existing, record)
        elif (had := self.tombstones.get(device_id)) is not None and (
            beyond := asks_beyond(had, record)
        ):
            _LOGGER.warning(
                "Device %s left and registers again asking for more than it had (%s): "
                "waiting for your decision", device_id, beyond,
            )  # fmt: skip
            self._add_pending(record)
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
        self.hub.admission.refuse("key_changed", device_id, "", "it offers another key")
        _LOGGER.warning(
            "Device %s offers a different key (%s; approved: %s)%s: waiting for your "
            "decision", device_id, record.fingerprint, device.record.fingerprint,
            f" and asks for more ({more})" if (more := asks_more(device.grant, record))
            else "",
        )  # fmt: skip
        self._add_pending(record, (device.record.fingerprint,))

    def _more_requested(
        self, device: AliciaDevice, record: DeviceRecord, more: str
    ) -> None:
        """An approved device asks for more than the user approved: the user decides."""
        _LOGGER.warning(
            "Device %s asks for more than you approved (%s): waiting for your decision",
            record.device_id, more,
        )  # fmt: skip
        self._add_pending(record, (device.grant.fingerprint,))

    def card(self, record: DeviceRecord) -> dict[str, str]:
        """What the card shows, and of an approved device's request what it is (its "kind").

        A request for another key that also asks for more is both: its card shows
        both, and the decision is bound to all of it.
        """
        placeholders = super().card(record)
        if "old_fingerprint" in placeholders:
            grant = self.hub.devices[record.device_id].grant
            placeholders["kind"] = request_kind(
                record.public_key != grant.public_key,
                asks_more(grant, record) is not None,
            )
        return placeholders

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
        self.tombstones.forget(record.device_id)
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
        if device is not None:
            # Registrations of it (and of those behind it) sent before it left are
            # old now: replayed, they would bring it back (with auto-approval) as if
            # it had returned. A child's were signed by its hub: the key it has.
            mode_off = hub.admission.mode is Mode.OFF
            for gone in [device_id, *self._behind(device_id)]:
                signer = None if mode_off else hub.key_of(gone)
                if signer is not None or gone == device_id:
                    self.newest.took(gone, signer, read.timestamp)
        self.remove(device_id, left=read.source)

    def remove(
        self, device_id: str, shown: str | None = None, left: str | None = None
    ) -> None:
        """Forget a device and the devices behind it, in HA too; clear their retained registrations and settings.

        A device talks for those behind it (via_device): gone, nobody may. left: the
        device that unregistered device_id (itself, or its hub); what they had is
        kept to judge their return (Tombstones). The user's removal needs none: the
        user decided.
        """
        gone_ids = [device_id, *self._behind(device_id)]
        prefix = self.hub.prefix
        for gone in gone_ids:
            if left is not None and (device := self.hub.devices.get(gone)) is not None:
                self.tombstones.left(device.grant)
            self._forget(gone, shown if gone == device_id else None)
            # The settings HA signed for it (a Wi-Fi password, say): the next holder
            # of the id must not get them (the device may only read them); nor its
            # registration, but one that left clears its own.
            self.uncleared.add(f"{prefix}/devices/{gone}/config")
            if gone != left:
                self.uncleared.add(f"{prefix}/system/discovery/register/{gone}")
        self.clear_retained()
        for asking in [d for d, r in self.pending.items() if r.via_device in gone_ids]:
            # An approved device's request to talk through a device now gone.
            self.pending.pop(asking)
            self.changes.pop(asking, None)
            self.withdraw(asking)
        self.hub.save()
        self.hub.hub_changed()

    def _behind(self, device_id: str) -> list[str]:
        """The devices approved or waiting behind device_id, and those behind them."""
        records = [d.record for d in self.hub.devices.values()] + [
            r
            for r in [*self.pending.values(), *self.ignored.values()]
            if r.device_id not in self.hub.devices
        ]
        found: list[str] = []
        parents = [device_id]
        while parents:
            parent = parents.pop()
            for record in records:
                child = record.device_id
                if record.via_device == parent and child not in [device_id, *found]:
                    found.append(child)
                    parents.append(child)
        return found

    def _forget(self, device_id: str, shown: str | None) -> None:
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
