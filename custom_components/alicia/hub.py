"""The hub: one per config entry, its parts (the entry's runtime data) and their wiring."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
import logging
from typing import Any

from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.start import async_at_started

from .admission import Admission
from .analytics import on_analytics
from .announce import async_announce_request
from .approval import Approvals
from .bus.policy import Mode
from .bus.signing import KeyPair
from .bus_link import BusLink, Handler
from .const import (
    CONF_SECURITY_MODE,
    CONF_TOPIC_PREFIX,
    DEFAULT_TOPIC_PREFIX,
    HEALTH_CHECK_SECONDS,
)
from .context import DeviceCommands, SecurityView
from .device import AliciaDevice
from .device_data import DeviceData
from .ha_commands import async_handle_command
from .health import HealthWatch
from .registry_mirror import RegistryMirror
from .roster import Roster
from .satellites import Satellites
from .storage import HubStore, Remembered, Stored
from .tally import Tally

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class AliciaHub:
    """The parts of one config entry; create() wires them, nothing is subscribed yet."""

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    prefix: str
    # The options in force: the update listener compares new ones with these.
    options: dict[str, Any]
    admission: Admission
    tally: Tally
    link: BusLink
    mirror: RegistryMirror
    roster: Roster
    approvals: Approvals
    health: HealthWatch
    data: DeviceData
    satellites: Satellites
    store: HubStore
    # The platforms forwarded at setup, unloaded as they were.
    platforms: list[str] = field(default_factory=list)
    _stop_checks: Callable[[], None] | None = field(default=None, init=False)

    @classmethod
    def create(
        cls,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        entity_capabilities: Collection[str],
    ) -> AliciaHub:
        """The parts, each handed what it needs; entity_capabilities: entity_tables.py's."""
        prefix: str = entry.options.get(CONF_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX)
        admission = Admission(
            hass,
            entry.entry_id,
            KeyPair.generate(),
            Mode(entry.options.get(CONF_SECURITY_MODE, Mode.VERIFY)),
        )
        tally = Tally()
        mirror = RegistryMirror(hass, entry.entry_id, entity_capabilities)
        store = HubStore(hass, entry.entry_id)
        hub: AliciaHub | None = None

        def save() -> None:
            assert hub is not None
            hub.save()

        async def keep() -> None:
            assert hub is not None
            await hub.async_save()

        roster = Roster(hass, entry, prefix, admission, mirror, save=save, keep=keep)
        link = BusLink(hass, prefix, admission, roster.key_of, tally)
        hub = cls(
            hass=hass, entry=entry, prefix=prefix, options=dict(entry.options),
            admission=admission, tally=tally, link=link, mirror=mirror,
            roster=roster, approvals=Approvals(roster, link, tally),
            health=HealthWatch(roster, link, tally),
            data=DeviceData(roster, link, tally),
            satellites=Satellites(roster, link, tally), store=store,
        )  # fmt: skip
        return hub

    async def async_load(self) -> None:
        """Restore the stored devices before any MQTT message arrives."""
        stored = await self.store.async_load()
        if stored.key is not None:
            self.admission.key = stored.key
        else:
            await self.store.async_save(self._state())
        self.admission.trust_serial = stored.trust_serial
        self.approvals.changes = stored.key_changes
        for record in stored.devices:
            granted = stored.granted.get(record.device_id)
            self.roster.devices[record.device_id] = AliciaDevice(record, granted)
        self.approvals.newest.sent = dict(stored.memory.sent)
        self.approvals.tombstones.load(stored.memory.tombstones)
        self.approvals.uncleared = set(stored.memory.uncleared)
        for device_id, (sent, session) in stored.memory.status.items():
            if (device := self.roster.devices.get(device_id)) is not None:
                device.status_sent, device.status_session = sent, session
        for record in stored.pending:
            self.approvals.pending[record.device_id] = record

    async def async_start(self) -> None:
        """Subscribe to the bus and start checking health."""
        # Also when the entry's setup fails after this point (HA runs on_unload then).
        self.entry.async_on_unload(self._stop_listening)
        roster, link = self.roster, self.link
        # Removals MQTT did not take before a restart: cleared before the broker
        # sends the retained copies (when it is down, once it connects).
        self.approvals.clear_retained()
        handlers: dict[str, Handler] = {
            "system/discovery/register": self.approvals.on_register,
            "system/discovery/register/+": self.approvals.on_register,
            "system/discovery/capabilities": self.approvals.on_register,
            "system/discovery/unregister": self.approvals.on_unregister,
            "system/health/heartbeat": self.health.on_heartbeat,
            "devices/+/status": self.health.on_status,
            "devices/+/data": self.data.on_data,
            "devices/sensors/telemetry": self.data.on_telemetry,
            "devices/+/satellite/run": self.satellites.on_run,
            "devices/+/satellite/audio": self.satellites.on_audio,
            "devices/+/satellite/played": self.satellites.on_played,
            "devices/speakers/announce": link.requests(
                partial(async_announce_request, roster, link)
            ),
            "voice/command/response": self.data.on_voice_response,
            "integration/ha/command": link.requests(
                partial(async_handle_command, roster, link, self.tally)
            ),
            "integration/analytics/event": callback(
                partial(on_analytics, roster, link)
            ),
        }
        await link.async_subscribe(handlers)
        self.entry.async_on_unload(
            async_dispatcher_connect(
                self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, self.approvals.on_entry_changed
            )
        )
        # Cards do not outlive a restart (HA keeps no flow, repairs are not persistent),
        # and HA shows none before it has started.
        self.entry.async_on_unload(async_at_started(self.hass, self._offer_pending))
        self._stop_checks = async_track_time_interval(
            self.hass, self.health.check, timedelta(seconds=HEALTH_CHECK_SECONDS)
        )
        roster.publish_trust()
        self.entry.async_on_unload(roster.follow_areas())

    async def async_stop(self) -> None:
        """Unsubscribe and save (a save that fails is logged: the entry still unloads)."""
        self._stop_listening()
        await self.async_save()

    async def async_save(self) -> None:
        """Store now (a save that fails is logged)."""
        try:
            await self.store.async_save(self._state())
        except (HomeAssistantError, TypeError, ValueError) as err:
            _LOGGER.error("Alicia's devices could not be saved: %s", err)

    @callback
    def _offer_pending(self, _: HomeAssistant) -> None:
        for record in list(self.approvals.pending.values()):
            self.approvals.offer(record)

    @callback
    def _stop_listening(self) -> None:
        self.link.unsubscribe()
        if self._stop_checks is not None:
            self._stop_checks()
            self._stop_checks = None
        self.approvals.cancel_timer()
        self.approvals.withdraw()
        self.approvals.refusals.clear()
        self.admission.close()

    def _state(self) -> Stored:
        """What is stored, as it is now."""
        devices, approvals = self.roster.devices.values(), self.approvals
        return Stored(
            key=self.admission.key,
            devices=[d.record for d in devices],
            pending=list(approvals.pending.values()),
            key_changes=approvals.changes,
            granted={d.device_id: d.granted for d in devices if d.granted is not None},
            memory=Remembered(
                sent=dict(approvals.newest.sent),
                tombstones=approvals.tombstones.stored(),
                status={
                    d.device_id: (d.status_sent, d.status_session)
                    for d in devices
                    if d.status_sent is not None
                },
                uncleared=sorted(approvals.uncleared),
            ),
            trust_serial=self.admission.trust_serial,
        )

    def save(self) -> None:
        """Store the devices, the pending ones and the hub's key soon."""
        approvals = self.approvals
        known = {*self.roster.devices, *approvals.pending, *approvals.ignored}
        approvals.newest.keep(known | set(approvals.tombstones.grants))
        self.store.schedule_save(self._state)

    def commands_to(self, device_id: str) -> DeviceCommands:
        """What an entity of a device sends it through (entities never hold the link)."""

        async def send(
            capability: str, action: str, params: dict[str, Any] | None = None
        ) -> None:
            await self.link.async_command(device_id, capability, action, params)

        return send

    @property
    def security(self) -> SecurityView:
        """Admission, as the hub's entities and diagnostics read it."""
        return self.admission

    def set_security_mode(self, mode: str) -> None:
        """Apply a new security mode now, and tell the bridges."""
        self.options[CONF_SECURITY_MODE] = mode
        self.admission.mode = Mode(mode)
        _LOGGER.info("Security mode: %s", mode)
        self.roster.publish_trust()
        self.roster.hub_changed()
