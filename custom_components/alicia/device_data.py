"""What devices report: values on their data topic, on the shared telemetry topic, and voice answers."""

from __future__ import annotations

import time
from typing import Any

from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback

from .bus.policy import Mode
from .bus.reported import Report, Telemetry
from .bus_link import BusLink
from .context import HubContext
from .tally import Tally

MAX_KEYS = 256
# What serves a voice route: speech-to-text, then an answer.
VOICE_ROUTE = frozenset({"stt", "ai"})


class DeviceData:
    """Takes reported values into each device's state."""

    def __init__(self, hub: HubContext, link: BusLink, tally: Tally) -> None:
        """For one hub."""
        self.hub = hub
        self.link = link
        self.tally = tally

    @callback
    def on_data(self, message: ReceiveMessage) -> None:
        """alicia/devices/{id}/data."""
        if (read := self.link.read(message)) is None:
            return
        device = self.hub.devices.get(message.topic.split("/")[-2])
        if device is None:
            self.link.unknown_sender(message.topic, read)
            return
        if not device.speaks_for(read.source):
            # Identity is bound to the topic: another device cannot speak here.
            self.tally.counters.collisions += 1
            return
        # The contract checked the values (bus/reported.py) or refused the message.
        assert isinstance(read.body, Report)
        self.take_values(device.device_id, read.body.values)

    @callback
    def on_telemetry(self, message: ReceiveMessage) -> None:
        """alicia/devices/sensors/telemetry, for a device or one behind it."""
        hub = self.hub
        # The contract typed the payload (an id, an object) or refused it, bounded.
        if (read := self.link.read(message)) is None:
            return
        assert isinstance(read.body, Telemetry)
        if read.source not in hub.devices:
            self.link.unknown_sender(message.topic, read)
            return
        device = hub.devices.get(read.body.device_id or read.source)
        if device is None or not device.speaks_for(read.source):
            self.link.unknown_sender(message.topic, read)
            return
        self.take_values(device.device_id, read.body.values)

    def take_values(self, device_id: str, values: dict[str, Any]) -> None:
        """Store the values, and tell the device's entities."""
        hub = self.hub
        device = hub.devices[device_id]
        fresh = {str(k).lower(): v for k, v in values.items()}
        if len(device.values.keys() | fresh.keys()) > MAX_KEYS:
            # Each device reports what its capabilities name; thousands of keys are a flood.
            self.tally.counters.reject("too_many_values")
            self.tally.log_limited(
                "too_many_values", "Data from %s with too many keys", device_id
            )
            return
        device.values.update(fresh)
        device.fresh_keys = set(fresh)
        device.last_seen = time.monotonic()
        hub.device_changed(device_id)

    @callback
    def on_voice_response(self, message: ReceiveMessage) -> None:
        """The bridge answered a voice command: tell automations what was said and answered."""
        hub = self.hub
        if (
            read := self.link.read(message)
        ) is None or "transcript" not in read.payload:
            return
        if not self.serves_voice(read.source) or read.destination not in hub.devices:
            # Automations act on this event ("Goodnight by voice"): a forged one would too.
            self.tally.counters.reject("voice_refused")
            self.tally.log_limited(
                "voice", "Voice result from %s for %s refused: only an approved, "
                "signing voice service's count", read.source, read.destination,
            )  # fmt: skip
            return
        payload = read.payload
        hub.fire(
            "voice_command", read.destination,
            transcript=payload.get("transcript"), answer=payload.get("answer"),
            language=payload.get("language"),
        )  # fmt: skip

    def serves_voice(self, source: str) -> bool:
        """An approved device with a voice route, whose key admission checked (unless off)."""
        device = self.hub.devices.get(source)
        if device is None:
            return False
        # Admitted with an approved key means its signature was verified.
        verified = device.public_key is not None or self.hub.admission.mode is Mode.OFF
        return verified and {c.name for c in device.record.capabilities} >= VOICE_ROUTE
