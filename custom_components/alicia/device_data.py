"""What devices report: values on their data topic, on the shared telemetry topic, and voice answers."""

from __future__ import annotations

import time
from typing import Any

from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback

from .bus.errors import ProtocolError
from .bus.reported import Report, Telemetry
from .bus.voice_route import VoiceResult, is_voice_server
from .bus_link import BusLink
from .context import HubContext
from .device import AliciaDevice
from .tally import Tally

MAX_KEYS = 256


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
            return  # an error answered to the asker: nothing was heard
        if not self.serves_voice(read.source) or read.destination not in hub.devices:
            # Automations act on this event ("Goodnight by voice"): a forged one would too.
            self.refuse_voice(
                "voice", "Voice result from %s for %s refused: only an approved, "
                "signing voice service's count", read.source, read.destination,
            )  # fmt: skip
            return
        try:
            result = VoiceResult.parse(read.payload)
        except ProtocolError as err:
            self.refuse_voice(
                "voice_result", "Voice result from %s refused: %s", read.source, err
            )
            return
        hub.fire(
            "voice_command", read.destination, transcript=result.transcript,
            answer=result.answer, language=result.language,
        )  # fmt: skip

    def refuse_voice(self, why: str, text: str, *args: Any) -> None:
        """A voice result that fires nothing: counted, and logged at most once a minute per why."""
        self.tally.counters.reject("voice_refused")
        self.tally.log_limited(why, text, *args)

    def serves_voice(self, source: str) -> bool:
        """An approved voice server, whose key admission checked (unless off)."""
        device = self.hub.devices.get(source)
        return device is not None and serves_voice(self.hub, device)


def serves_voice(hub: HubContext, device: AliciaDevice) -> bool:
    """A voice server (bus/voice_route.py) whose word counts: its messages' key (its own, or its hub's) is approved, unless security is off."""
    names = (c.name for c in device.record.capabilities)
    return hub.may_act(device.device_id) and is_voice_server(
        device.record.device_type, names
    )
