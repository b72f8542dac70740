"""Analytics events from devices: a line in HA's logbook and an event automations can use."""

from __future__ import annotations

from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback

from .bus.payloads import Analytics
from .context import HubContext


@callback
def on_analytics(hub: HubContext, message: ReceiveMessage) -> None:
    """alicia/integration/analytics/event from an approved device: fire alicia_analytics."""
    if (read := hub.link.read(message)) is None:
        return
    assert isinstance(read.body, Analytics)
    device = hub.devices.get(read.source)
    if device is None:
        # Anyone could otherwise write into the user's logbook.
        hub.link.unknown_sender(message.topic, read)
        return
    hub.fire(
        "analytics",
        device.device_id,
        name=device.record.name,
        event=read.body.event,
        message=read.body.message or read.body.event,
        data=read.body.data,
    )
