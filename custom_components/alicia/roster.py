"""The approved devices of one entry: added, updated and dropped (HA's registry follows), their signals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar, device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .admission import Admission
from .const import (
    APPROVAL_AUTO,
    CONF_APPROVAL,
    CONF_HEARTBEAT_FACTOR,
    DEFAULT_HEARTBEAT_FACTOR,
    DOMAIN,
    SIGNAL_DEVICE_ADDED,
    SIGNAL_DEVICE_UPDATE,
    SIGNAL_HUB_UPDATE,
)
from .device import AliciaDevice, DeviceRecord
from .device_registry import find_device
from .registry_mirror import RegistryMirror

_LOGGER = logging.getLogger(__name__)


class Roster:
    """The devices of one config entry, as the parts see them (context.DeviceLifecycle)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        prefix: str,
        admission: Admission,
        mirror: RegistryMirror,
        *,
        save: Callable[[], None],
        keep: Callable[[], Awaitable[None]],
    ) -> None:
        """save() stores the devices soon, keep() now (the hub's store holds more than the roster)."""
        self.hass = hass
        self.entry = entry
        self.prefix = prefix
        self.admission = admission
        self.mirror = mirror
        self.devices: dict[str, AliciaDevice] = {}
        self._save = save
        self._keep = keep
        # What the last trust list said: a registry change republishes only if it differs.
        self._published: tuple[dict[str, str], dict[str, str]] | None = None
        self._trust_wanted = False
        self._trust_sending: asyncio.Task[None] | None = None

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

    def key_of(self, source: str) -> str | None:
        """The key a sender's messages must be signed with, if it has one.

        A device registered through another carries no key of its own: the device
        it talks through speaks for it, so that one's key is its key. Otherwise,
        while the hub signs, anyone could speak unsigned in a child's name.
        """
        device = self.devices.get(source)
        if device is None:
            return None
        parent = device.record.via_device
        if device.public_key is None and parent and parent in self.devices:
            return self.devices[parent].public_key
        return device.public_key

    def may_act(self, source: str) -> bool:
        """Whether source's word may make HA act on the home: an approved key verifies it (key_of), or security is off.

        Never while the user has disabled the device in HA.
        """
        return not self.disabled(source) and self.admission.may_act_with(
            self.key_of(source)
        )

    def disabled(self, device_id: str) -> bool:
        """Whether the user has disabled the device in HA's device registry, or the one whose key it speaks by."""
        ids = [device_id]
        known = self.devices.get(device_id)
        if known is not None and known.public_key is None and known.record.via_device:
            ids.append(known.record.via_device)  # key_of: its hub's key is its word
        return any(
            (device := find_device(self.hass, self.entry.entry_id, one)) is not None
            and device.disabled
            for one in ids
        )

    def trusted(self) -> dict[str, str]:
        """The keys the bridges may take a device's word by: not a disabled device's."""
        return {
            d: key
            for d in self.devices
            if (key := self.key_of(d)) and not self.disabled(d)
        }

    def save(self) -> None:
        """Store the devices soon."""
        self._save()

    def restore(self) -> None:
        """Recreate the stored devices' HA devices and entities (no approval again)."""
        for device in self.devices.values():
            self._activate(device)

    def add_device(self, record: DeviceRecord) -> AliciaDevice:
        """A newly trusted device: its HA device and entities."""
        device = self.devices.get(record.device_id)
        if device is None:
            device = self.devices[record.device_id] = AliciaDevice(record)
        else:
            device.record = record
        self._activate(device)
        return device

    def _activate(self, device: AliciaDevice) -> None:
        if device.last_seen is None:
            device.last_seen = time.monotonic()
        self.mirror.register(device.record, device.record.via_device in self.devices)
        if device.active:
            # Approved again after a key change: its entities exist already.
            self.device_changed(device.device_id)
            return
        device.active = True
        self.mirror.raise_unknown_capabilities(device.record)
        async_dispatcher_send(
            self.hass, SIGNAL_DEVICE_ADDED.format(self.entry.entry_id), device.record
        )

    def update_device(self, device: AliciaDevice, record: DeviceRecord) -> None:
        """A known device registered again: follow what changed."""
        old = device.record
        device.record = record
        if record.document == old.document:
            return
        self.mirror.register(record, record.via_device in self.devices)
        self.mirror.raise_unknown_capabilities(record)
        self.mirror.remove_entities(old, record)
        async_dispatcher_send(
            self.hass, SIGNAL_DEVICE_ADDED.format(self.entry.entry_id), record
        )
        # Entities that stay may show the new capabilities (a speaker's volume).
        self.device_changed(record.device_id)
        self.save()

    def drop_device(self, device_id: str) -> None:
        """Remove an approved device from HA (its registry entry, issues and state)."""
        device = self.devices.pop(device_id, None)
        if device is None:
            return
        self.mirror.remove(device.record)
        _LOGGER.info("Device %s removed", device_id)
        self.fire("device_removed", device_id)
        self.publish_trust()

    def publish_trust(self) -> None:
        """Tell the bridges (retained, signed) which device keys are approved, and where each device is.

        Changes made together (an approval and the area it sets) go out as one list.
        """
        self._trust_wanted = True
        if self._trust_sending is None or self._trust_sending.done():
            # The entry's unload waits for it: sent after a reload's new hub had
            # numbered its own list, it could carry the same serial.
            self._trust_sending = self.entry.async_create_task(
                self.hass, self._send_trust(), "alicia trust list", eager_start=False
            )

    async def _send_trust(self) -> None:
        while self._trust_wanted:
            self._trust_wanted = False
            self._published = (areas, trusted) = (self.areas(), self.trusted())
            # Its serial stored first: the next list, after a restart too, counts on from it.
            await self.admission.async_publish_trust(
                self.prefix, trusted.items(), areas, keep=self._keep
            )

    def follow_areas(self) -> Callable[[], None]:
        """Publish the trust list again when a device moves to another area, its area is renamed, or it is disabled or enabled."""

        @callback
        def changed(_: Event[Any]) -> None:
            if self._published is not None and self._published != (
                self.areas(),
                self.trusted(),
            ):
                self.publish_trust()

        # Only what can move a device, rename its area or disable it: HA updates
        # devices often (versions, names), and each look goes over every approved device.
        stops = [
            self.hass.bus.async_listen(
                dr.EVENT_DEVICE_REGISTRY_UPDATED, changed, event_filter=_moved
            ),
            self.hass.bus.async_listen(
                ar.EVENT_AREA_REGISTRY_UPDATED, changed, event_filter=_renamed
            ),
        ]

        def stop_following() -> None:
            for stop in stops:
                stop()

        return stop_following

    def areas(self) -> dict[str, str]:
        """Each approved device's HA area name (a voice request's "the lights" there)."""
        areas = ar.async_get(self.hass)
        found: dict[str, str] = {}
        for device_id in self.devices:
            device = find_device(self.hass, self.entry.entry_id, device_id)
            if (
                device
                and device.area_id
                and (area := areas.async_get_area(device.area_id))
            ):
                found[device_id] = area.name
        return found

    def fire(self, kind: str, device_id: str, **data: Any) -> None:
        """An HA event for automations: alicia_<kind> with the device and details."""
        self.hass.bus.async_fire(f"{DOMAIN}_{kind}", {"device_id": device_id, **data})

    def device_changed(self, device_id: str) -> None:
        """Tell a device's entities to refresh."""
        async_dispatcher_send(
            self.hass, SIGNAL_DEVICE_UPDATE.format(self.entry.entry_id, device_id)
        )

    def hub_changed(self) -> None:
        """Tell the hub's own entities to refresh."""
        async_dispatcher_send(self.hass, SIGNAL_HUB_UPDATE.format(self.entry.entry_id))


@callback
def _moved(data: dr.EventDeviceRegistryUpdatedData) -> bool:
    """A device made, removed, given another area, disabled or enabled."""
    return data["action"] != "update" or not {"area_id", "disabled_by"}.isdisjoint(
        data["changes"]
    )


@callback
def _renamed(data: ar.EventAreaRegistryUpdatedData) -> bool:
    """An area renamed or removed (a new one holds no device yet)."""
    return data["action"] != "create"
