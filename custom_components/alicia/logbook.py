"""How Alicia's events read in HA's logbook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback

from .bus.text import excerpt
from .const import DOMAIN
from .device_registry import find_device, full_name

# The logbook's entry keys (homeassistant.components.logbook.const), as plain text:
# importing the logbook component would make it a dependency.
NAME = "name"
MESSAGE = "message"
ICON = "icon"


def _said(data: dict[str, Any]) -> str:
    """The device's message, else its event's name in words (button_pressed: button pressed)."""
    message, event = data.get("message"), data.get("event")
    if message and message != event:
        return str(message)
    # analytics.py gives an event without a message its name as the message.
    return str(event).replace("_", " ")


DESCRIBED: dict[str, Callable[[dict[str, Any]], str]] = {
    # The device's own words, quoted: they cannot pass for what HA says happened.
    f"{DOMAIN}_analytics": lambda data: f"reports {excerpt(_said(data), 255)}",
    f"{DOMAIN}_device_health": lambda data: (
        f"reports its health as {data.get('status')}"
    ),
    f"{DOMAIN}_device_offline": lambda data: "went offline",
    f"{DOMAIN}_device_online": lambda data: "is back online",
    f"{DOMAIN}_device_approved": lambda data: "was approved",
    f"{DOMAIN}_device_removed": lambda data: "was removed",
}
ICONS = {
    f"{DOMAIN}_analytics": "mdi:chart-line",
    f"{DOMAIN}_device_health": "mdi:heart-pulse",
    f"{DOMAIN}_device_offline": "mdi:lan-disconnect",
    f"{DOMAIN}_device_online": "mdi:lan-connect",
    f"{DOMAIN}_device_approved": "mdi:check-decagram",
    f"{DOMAIN}_device_removed": "mdi:delete",
}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """One line per Alicia event: the device's name and what happened."""

    @callback
    def describe(event: Event) -> dict[str, str]:
        data = dict(event.data)
        return {
            NAME: _name(hass, data),
            MESSAGE: DESCRIBED[str(event.event_type)](data),
            ICON: ICONS[str(event.event_type)],
        }

    for event_type in DESCRIBED:
        async_describe_event(DOMAIN, event_type, describe)


def _name(hass: HomeAssistant, data: dict[str, Any]) -> str:
    """The device as HA names it (the user's name first, its area), else as the event did, else its id."""
    device_id = str(data.get("device_id"))
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if (device := find_device(hass, entry.entry_id, device_id)) is not None:
            return full_name(hass, device) or device_id
    return str(data.get("name") or f"Alicia device {device_id}")
