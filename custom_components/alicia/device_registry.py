"""Looking up Alicia's devices in HA's device registry, on every supported HA."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)

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


def _without_area(name: str, area: str | None) -> str | None:
    """The name without the area in front ("Living room climate": "Climate"), else None."""
    if not area or name[: len(area)].casefold() != area.casefold():
        return None
    if not name[len(area) : len(area) + 1].isspace():
        return None  # "Hallway light" is not in the "Hall"
    rest = name[len(area) :].strip()
    return rest[:1].upper() + rest[1:] if rest else None


def _area_in_entity_ids(hass: HomeAssistant) -> bool:
    """Whether HA puts a device's area in front of its entity ids (2026.6 on, unless the user chose otherwise)."""
    parts_enum = getattr(er, "EntityNamePart", None)
    settings = getattr(er.async_get(hass), "settings", None)
    if parts_enum is None or settings is None:
        return False
    parts = settings.entity_id_parts
    return parts is None or parts_enum.AREA in parts


def device_name(
    hass: HomeAssistant, name: str, area: str | None, known: dr.DeviceEntry | None
) -> str:
    """The device's name in HA: without its area in front where HA adds the area itself.

    A device HA knows already under its whole name keeps it, and so its entities'
    names (their ids stay in any case: HA keeps them).
    """
    short = _without_area(name, area)
    if short is None or not _area_in_entity_ids(hass):
        return name
    if known is not None and known.name and _without_area(known.name, area):
        return name
    return short


def full_name(hass: HomeAssistant, device: dr.DeviceEntry) -> str | None:
    """The device's name with its area in front where HA shows it so ("Kitchen Sensor").

    A name the user gave is theirs, as they wrote it.
    """
    if device.name_by_user:
        return device.name_by_user
    name = device.name
    if not name or device.area_id is None or not _area_in_entity_ids(hass):
        return name
    area = ar.async_get(hass).async_get_area(device.area_id)
    if area is None or _without_area(name, area.name) is not None:
        return name
    return f"{area.name} {name}"
