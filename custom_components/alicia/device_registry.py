"""Looking up Alicia's devices in HA's device registry, on every supported HA."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN


def find_device(
    hass: HomeAssistant, entry_id: str, device_id: str
) -> dr.DeviceEntry | None:
    """The HA device of an Alicia device id, owned by the Alicia entry."""
    registry = dr.async_get(hass)
    # Newer HA keeps identifiers unique per config entry and deprecates the
    # global lookup; 2026.2 has only the global one.
    by_identifier = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        found: dr.DeviceEntry | None = by_identifier((DOMAIN, device_id), entry_id)
        return found
    device = registry.async_get_device(identifiers={(DOMAIN, device_id)})
    # There, a device may hold our identifier in another entry only.
    return device if device is not None and entry_id in device.config_entries else None


def alicia_id(hass: HomeAssistant, ha_device_id: str) -> str | None:
    """The Alicia device id of an HA device, if it is one of Alicia's."""
    device = dr.async_get(hass).async_get(ha_device_id)
    if device is None:
        return None
    return next((i for d, i in device.identifiers if d == DOMAIN), None)
