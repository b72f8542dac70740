"""The hub: one per config entry; holds the devices and wires the parts that act on them."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import timedelta
from functools import partial
import logging
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from .admission import Admission
from .analytics import on_analytics
from .announce import async_announce_request
from .approval import Approvals
from .bus.policy import Mode
from .bus.signing import KeyPair
from .bus_link import BusLink, Handler
from .const import (
    APPROVAL_AUTO,
    CONF_APPROVAL,
    CONF_HEARTBEAT_FACTOR,
    CONF_SECURITY_MODE,
    CONF_TOPIC_PREFIX,
    DEFAULT_HEARTBEAT_FACTOR,
    DEFAULT_TOPIC_PREFIX,
    DOMAIN,
    HEALTH_CHECK_SECONDS,
    SIGNAL_DEVICE_ADDED,
    SIGNAL_DEVICE_UPDATE,
    SIGNAL_HUB_UPDATE,
)
from .device import AliciaDevice, DeviceRecord
from .device_data import DeviceData
from .ha_commands import async_handle_command
from .health import HealthWatch
from .registry_mirror import RegistryMirror
from .storage import HubStore
from .tally import Tally

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)


class AliciaHub:
    """The devices of one config entry, and the bus they talk on."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        entity_capabilities: Collection[str],
    ) -> None:
        """Nothing is subscribed until async_start()."""
        self.hass = hass
        self.entry = entry
        # Those with a platform's row (entity_tables.py): the hub is below the platforms.
        self.mirror = RegistryMirror(hass, entry.entry_id, entity_capabilities)
        self.prefix: str = entry.options.get(CONF_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX)
        self.options = dict(entry.options)
        self.devices: dict[str, AliciaDevice] = {}
        # The platforms forwarded at setup, unloaded as they were.
        self.platforms: list[str] = []
        self.admission = Admission(
            hass,
            entry.entry_id,
            KeyPair.generate(),
            Mode(entry.options.get(CONF_SECURITY_MODE, Mode.VERIFY)),
        )
        self.tally = Tally()
        self.link = BusLink(hass, self.prefix, self.admission, self.key_of, self.tally)
        self.approvals = Approvals(self, self.link, self.tally)
        self.health = HealthWatch(self, self.link, self.tally)
        self.data = DeviceData(self, self.link, self.tally)
        self._store = HubStore(hass, entry.entry_id)
        self._stop_checks: Callable[[], None] | None = None

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
        """The approved key of a sender, if it has one."""
        device = self.devices.get(source)
        return device.public_key if device is not None else None

    # Lifecycle

    async def async_load(self) -> None:
        """Restore the stored devices before any MQTT message arrives."""
        stored = await self._store.async_load()
        if stored.key is not None:
            self.admission.key = stored.key
        else:
            await self._store.async_save(*self._state())
        self.approvals.key_changes = stored.key_changes
        for record in stored.devices:
            self.devices[record.device_id] = AliciaDevice(record)
        for record in stored.pending:
            self.approvals.pending[record.device_id] = record

    def restore(self) -> None:
        """Recreate the stored devices' HA devices and entities (no approval again)."""
        for device in self.devices.values():
            self._activate(device)

    async def async_start(self) -> None:
        """Subscribe to the bus and start checking health."""
        # Also when the entry's setup fails after this point (HA runs on_unload then).
        self.entry.async_on_unload(self._stop_listening)
        handlers: dict[str, Handler] = {
            "system/discovery/register": self.approvals.on_register,
            "system/discovery/register/+": self.approvals.on_register,
            "system/discovery/capabilities": self.approvals.on_register,
            "system/discovery/unregister": self.approvals.on_unregister,
            "system/health/heartbeat": self.health.on_heartbeat,
            "devices/+/status": self.health.on_status,
            "devices/+/data": self.data.on_data,
            "devices/sensors/telemetry": self.data.on_telemetry,
            "devices/speakers/announce": self.link.requests(
                partial(async_announce_request, self, self.link)
            ),
            "voice/command/response": self.data.on_voice_response,
            "integration/ha/command": self.link.requests(
                partial(async_handle_command, self, self.link, self.tally)
            ),
            "integration/analytics/event": callback(
                partial(on_analytics, self, self.link)
            ),
        }
        await self.link.async_subscribe(handlers)
        self._stop_checks = async_track_time_interval(
            self.hass, self.health.check, timedelta(seconds=HEALTH_CHECK_SECONDS)
        )
        self.publish_trust()

    async def async_stop(self) -> None:
        """Unsubscribe and save."""
        self._stop_listening()
        await self._store.async_save(*self._state())

    @callback
    def _stop_listening(self) -> None:
        self.link.unsubscribe()
        if self._stop_checks is not None:
            self._stop_checks()
            self._stop_checks = None
        self.approvals.cancel_timer()
        self.approvals.refusals.clear()
        self.admission.close()

    def _state(
        self,
    ) -> tuple[KeyPair, list[DeviceRecord], list[DeviceRecord], dict[str, str | None]]:
        return (
            self.admission.key,
            [d.record for d in self.devices.values()],
            list(self.approvals.pending.values()),
            self.approvals.key_changes,
        )

    def save(self) -> None:
        """Store the devices soon."""
        self._store.schedule_save(self._state)

    # Devices

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

    # Out

    def publish_trust(self) -> None:
        """Tell the bridges (retained, signed) which device keys are approved."""
        self.hass.async_create_task(
            self.admission.async_publish_trust(
                self.prefix,
                [
                    (d, dev.public_key)
                    for d, dev in self.devices.items()
                    if dev.public_key
                ],
            ),
            eager_start=False,
        )

    def set_security_mode(self, mode: str) -> None:
        """Apply a new security mode now, and tell the bridges."""
        self.options[CONF_SECURITY_MODE] = mode
        self.admission.mode = Mode(mode)
        _LOGGER.info("Security mode: %s", mode)
        self.publish_trust()
        self.hub_changed()

    # Signals and events

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
