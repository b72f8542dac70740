"""What each capability of the protocol becomes in Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.const import Platform

# Capability names (lower case) → the platform and the kind of entity.
SENSORS = {
    "temperature", "humidity", "illuminance", "power", "energy", "battery",
    "pressure", "co2", "voltage", "current", "signal_strength", "value",
}  # fmt: skip
BINARY_SENSORS = {
    "motion",
    "occupancy",
    "door",
    "window",
    "contact",
    "moisture",
    "smoke",
    "binary",
}
SWITCHES = {"switch", "relay", "outlet", "plug"}
LIGHTS = {"light", "dimmer", "bulb"}
NUMBERS = {"volume", "volume_control", "level"}
BUTTONS = {"identify", "restart", "trigger"}
EVENTS = {"button", "remote", "doorbell"}
# Capabilities that describe what a device does rather than an entity.
DESCRIPTIVE = {
    "audio_playback",
    "group_management",
    "announce",
    "stt",
    "tts",
    "ai",
    "telemetry",
}


@dataclass(frozen=True, slots=True)
class Capability:
    """One capability of a device, as registered."""

    name: str
    kind: str
    parameters: dict[str, Any]

    @classmethod
    def from_document(cls, item: dict[str, Any]) -> Capability:
        """From the capability document's entry (already validated)."""
        name = str(item["name"]).strip().lower()
        return cls(
            name=name,
            kind=str(item.get("type") or ""),
            parameters=dict(item.get("parameters") or {}),
        )


def platform_for(capability: Capability) -> Platform | None:
    """The platform a capability's entity belongs on; None for unknown ones."""
    for names, platform in (
        (SENSORS, Platform.SENSOR),
        (BINARY_SENSORS, Platform.BINARY_SENSOR),
        (SWITCHES, Platform.SWITCH),
        (LIGHTS, Platform.LIGHT),
        (NUMBERS, Platform.NUMBER),
        (BUTTONS, Platform.BUTTON),
        (EVENTS, Platform.EVENT),
    ):
        if capability.name in names:
            return platform
    return None


def is_known(capability: Capability) -> bool:
    """Whether the integration knows what to do with the capability."""
    return capability.name in DESCRIPTIVE or platform_for(capability) is not None
