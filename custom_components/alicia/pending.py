"""Requests waiting for the user: kept (bounded), shown as cards, ignored, decided on."""

from __future__ import annotations

from collections import OrderedDict
import logging

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
    DeviceRequest,
    approved_card,
    ask_about_change,
    card,
    shown_digest,
    unique_id_of,
)
from .const import DOMAIN, MAX_PENDING
from .context import DeviceLifecycle
from .device import DeviceRecord
from .tally import Tally

_LOGGER = logging.getLogger(__name__)


class PendingRequests:
    """The requests waiting for the user: new devices, and approved devices' requests."""

    def __init__(self, hub: DeviceLifecycle, tally: Tally) -> None:
        """Nobody waits yet; the store fills pending and changes."""
        self.hub = hub
        self.tally = tally
        self.hass = hub.hass
        self.pending: OrderedDict[str, DeviceRecord] = OrderedDict()
        # Requests the user chose to ignore (HA keeps an ignored entry): no card, no
        # slot among the pending; the newest of them, for when the user stops ignoring.
        self.ignored: OrderedDict[str, DeviceRecord] = OrderedDict()
        # Approved devices whose request waits in pending (another key, or more than
        # was approved): the approved fingerprint. They keep what was approved until then.
        self.changes: dict[str, str | None] = {}

    def _add_pending(
        self, record: DeviceRecord, approved: tuple[str | None] | None = None
    ) -> None:
        """Keep a request for the user and show it.

        approved: (the approved fingerprint,) for an approved device's request. Those
        are not counted in MAX_PENDING (one per approved device); when strangers'
        requests fill it, the newest replaces the oldest stranger's.
        """
        device_id = record.device_id
        if approved is not None:
            self.changes[device_id] = approved[0]  # only with the request kept
        if self.is_ignored(device_id):
            self._ignore(record)
            return
        strangers = [d for d in self.pending if d not in self.hub.devices]
        if approved is None and device_id not in self.pending:
            for oldest in strangers[: max(0, len(strangers) - MAX_PENDING + 1)]:
                self.tally.counters.pending_full += 1
                self.tally.log_limited(
                    "pending", "Pending list full (%s devices): %s replaces %s",
                    MAX_PENDING, device_id, oldest,
                )  # fmt: skip
                self.withdraw(oldest)
                del self.pending[oldest]
        self.pending[device_id] = record
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
            self.changes.pop(self.ignored.popitem(last=False)[0], None)
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
