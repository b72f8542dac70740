"""Analytics events from devices: a line in HA's logbook and an event automations can use."""

from __future__ import annotations

from typing import Any

from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback

from .bus.errors import ProtocolError
from .bus.numbers import is_number
from .bus.payloads import Analytics
from .bus.text import clean_text
from .bus_link import BusLink
from .context import HubContext

# What one event may add to HA's recorder besides its name and message: about 1.5 KB.
MAX_DATA_KEYS = 8
MAX_DATA_TEXT = 128


def bounded(data: dict[str, Any]) -> dict[str, Any]:
    """The event's data: a few named, plain values; ProtocolError otherwise."""
    if len(data) > MAX_DATA_KEYS:
        raise ProtocolError(
            "invalid_field",
            f"payload: at most {MAX_DATA_KEYS} keys besides event and message",
        )
    for key, value in data.items():
        name = clean_text(key, "payload: a key", longest=64, shortest=1)
        if isinstance(value, str):
            clean_text(value, f"payload.{name}", longest=MAX_DATA_TEXT)
        elif not (value is None or isinstance(value, bool) or is_number(value)):
            raise ProtocolError(
                "invalid_field",
                f"payload.{name}: must be a number, true, false, null "
                f"or text of at most {MAX_DATA_TEXT} characters",
            )
    return data


@callback
def on_analytics(hub: HubContext, link: BusLink, message: ReceiveMessage) -> None:
    """alicia/integration/analytics/event from an approved device: fire alicia_analytics."""
    if (read := link.read(message)) is None:
        return
    assert isinstance(read.body, Analytics)
    device = hub.devices.get(read.source)
    if device is None:
        # Anyone could otherwise write into the user's logbook.
        link.unknown_sender(message.topic, read)
        return
    try:
        data = bounded(read.body.data)
    except ProtocolError as err:
        # Each event lands in HA's recorder: a flood of keys would fill its database.
        err.envelope = read.raw
        link.mistake(message.topic, err)
        return
    hub.fire(
        "analytics",
        device.device_id,
        name=device.record.name,
        event=read.body.event,
        message=read.body.message or read.body.event,
        data=data,
    )
