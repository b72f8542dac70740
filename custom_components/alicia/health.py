"""Device health: heartbeats, status messages, availability, and devices gone silent for days."""

from __future__ import annotations

from datetime import datetime
import logging
import time

from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .bus.envelope import Envelope
from .bus.errors import SecurityError
from .bus.payloads import Health, Heartbeat
from .bus.policy import Mode
from .bus.send_times import from_the_future, in_force, not_ahead
from .bus.signing import verify
from .bus.status import Status
from .bus_link import BusLink
from .const import CONF_STALE_DAYS, DEFAULT_STALE_DAYS, DOMAIN, SIGNAL_DEVICE_ONLINE
from .context import HubContext
from .device import AliciaDevice
from .device_data import serves_voice
from .tally import Tally
from .voice_health import VoiceServerWatch

_LOGGER = logging.getLogger(__name__)
# A health status holds this long before its repair issue is raised or cleared:
# a device that flaps raises one issue, not one per flap.
ISSUE_AFTER_SECONDS = 60.0


class HealthWatch:
    """Keeps each device's availability, and tells HA when it changes."""

    def __init__(self, hub: HubContext, link: BusLink, tally: Tally) -> None:
        """Checks run from hub's timer (check())."""
        self.hub = hub
        self.link = link
        self.tally = tally
        self.voice = VoiceServerWatch(hub)

    def is_available(self, device_id: str) -> bool:
        """Online: not marked offline, and heard from within the heartbeat timeout."""
        device = self.hub.devices.get(device_id)
        if device is None or device.offline or device.last_seen is None:
            return False
        timeout = self.hub.heartbeat_factor * device.record.heartbeat_interval
        return time.monotonic() - device.last_seen <= timeout

    @callback
    def on_heartbeat(self, message: ReceiveMessage) -> None:
        """A heartbeat: its device is alive, and its health is shown."""
        hub = self.hub
        if (read := self.link.read(message)) is None:
            return
        assert isinstance(read.body, Heartbeat)
        device = hub.devices.get(read.body.sender_id)
        if device is None or not device.speaks_for(read.source):
            self.link.unknown_sender(message.topic, read)
            return
        before = device.health_status
        device.health = read.payload
        device.last_seen = time.monotonic()
        device.offline = False
        self.voice.on_heartbeat(device, read.body)
        if read.body.status != before:
            device.health_since = device.last_seen
            self._health_changed(device.device_id, read.body.status, before)
        hub.device_changed(device.device_id)

    def _health_changed(
        self, device_id: str, status: Health, before: Health | None
    ) -> None:
        """Tell the user: the log and an event (the repair issue waits, see check())."""
        hub = self.hub
        if status is Health.HEALTHY:
            if before is not None:
                _LOGGER.info("Device %s is healthy again", device_id)
                hub.fire(
                    "device_health", device_id, status=str(status), previous=str(before)
                )
            return
        self.tally.log_limited(
            f"health_{device_id}",
            "Device %s reports its health as %s",
            device_id,
            status,
        )
        hub.fire(
            "device_health", device_id, status=str(status),
            previous=str(before) if before is not None else None,
        )  # fmt: skip

    def _settle_issue(self, device: AliciaDevice) -> None:
        """Raise or clear the device's repair issue once its health held for a while."""
        since = device.health_since
        if since is None or time.monotonic() - since < ISSUE_AFTER_SECONDS:
            return
        if serves_voice(self.hub, device):
            return  # its own repair says more, sooner (voice_health.py)
        unhealthy = device.health_status is Health.UNHEALTHY
        if unhealthy == device.health_issue:
            return
        device.health_issue = unhealthy
        issue = f"unhealthy_{device.device_id}"
        if not unhealthy:
            ir.async_delete_issue(self.hub.hass, DOMAIN, issue)
            return
        ir.async_create_issue(
            self.hub.hass, DOMAIN, issue, is_fixable=False,
            severity=ir.IssueSeverity.ERROR, translation_key="unhealthy_device",
            translation_placeholders={"device_id": device.device_id},
        )  # fmt: skip

    @callback
    def on_status(self, message: ReceiveMessage) -> None:
        """Online / offline from the device (or the broker, as its last will)."""
        hub = self.hub
        device = hub.devices.get(message.topic.split("/")[-2])
        if device is None or (read := self.link.read(message, secure=False)) is None:
            return
        status = Status.parse(read.payload)
        key = hub.key_of(read.source)
        if not self._current_will(device, message.topic, read, status) and not (
            self.link.admit(message, read, key)
        ):
            return
        if not device.speaks_for(read.source):
            self.tally.counters.collisions += 1
            return
        if key is not None and hub.admission.mode is not Mode.OFF:
            if _older(device, status, read.timestamp):
                _LOGGER.debug(
                    "Status of %s sent %s, before the newest: ignored",
                    device.device_id, read.timestamp.isoformat(),
                )  # fmt: skip
                return
            if status.online:
                device.status_session = status.session
                hub.save()
            sent = not_ahead(read.timestamp)
            device.status_sent = max(sent, in_force(device.status_sent or sent))
        if status.online:
            device.offline = False
            device.session = status.session
            device.last_seen = time.monotonic()
            async_dispatcher_send(
                hub.hass,
                SIGNAL_DEVICE_ONLINE.format(hub.entry.entry_id),
                device.device_id,
            )
        else:
            device.offline = True
            device.session = None  # a will counts once
        hub.device_changed(device.device_id)

    def _current_will(
        self, device: AliciaDevice, topic: str, read: Envelope, status: Status
    ) -> bool:
        """A signed last will of the device's current connection, sent late by the broker.

        Signed when the device connected, it is older than the replay window allows;
        it counts when its signature is the device's and its session is the one the
        device's newest (fresh, admitted) online message named. An old will replayed
        names an old session; the current one counts once.
        """
        key = self.hub.key_of(device.device_id)
        if status.online or not status.session or status.session != device.session:
            return False
        if key is None or read.source != device.device_id:
            return False
        try:
            verify(topic, read.raw, key)
        except SecurityError:
            return False
        return True

    @callback
    def check(self, _now: datetime | None = None) -> None:
        """Fire offline/online as availability changes; raise a repair for long silence."""
        hub = self.hub
        for device in list(hub.devices.values()):
            self._settle_issue(device)
            self.voice.check(device)
            available = self.is_available(device.device_id)
            if not available and not device.away:
                device.away = True
                _LOGGER.info("Device %s is unavailable", device.device_id)
                hub.fire("device_offline", device.device_id)
                hub.device_changed(device.device_id)
            elif available and device.away:
                device.away = False
                _LOGGER.info("Device %s is back", device.device_id)
                hub.fire("device_online", device.device_id)
                hub.device_changed(device.device_id)
            if available:  # back: "not heard from for days" no longer holds
                ir.async_delete_issue(hub.hass, DOMAIN, f"stale_{device.device_id}")
        stale_days = float(hub.entry.options.get(CONF_STALE_DAYS, DEFAULT_STALE_DAYS))
        for device in hub.devices.values():
            seen = device.last_seen
            if (
                device.away
                and seen is not None
                and time.monotonic() - seen > stale_days * 86400
            ):
                ir.async_create_issue(
                    hub.hass, DOMAIN, f"stale_{device.device_id}", is_fixable=False,
                    severity=ir.IssueSeverity.WARNING, translation_key="stale_device",
                    translation_placeholders={
                        "device_id": device.device_id, "days": f"{stale_days:g}"
                    },
                )  # fmt: skip


def _older(device: AliciaDevice, status: Status, sent: datetime) -> bool:
    """An old status replayed (retained ones skip the replay window): sent before the newest.

    The will of the newest online's connection is signed when it connects, so
    before that online: it still counts (the session says whose it is).
    """
    if device.status_sent is None or (
        sent >= in_force(device.status_sent) and not from_the_future(sent)
    ):
        return False
    return (
        status.online or not status.session or status.session != device.status_session
    )
