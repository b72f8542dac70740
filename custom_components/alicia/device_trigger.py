"""Device triggers: "Hall button: press" and friends, for event capabilities."""

from __future__ import annotations

from typing import Any

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .capabilities import event_types
from .const import DOMAIN
from .device_registry import alicia_id
from .event import DEFAULT_EVENT_TYPES, DESCRIPTIONS as EVENTS

CONF_SUBTYPE = "subtype"
EVENT_BUTTON = f"{DOMAIN}_button"
TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {vol.Required(CONF_TYPE): str, vol.Required(CONF_SUBTYPE): str}
)


def _record(hass: HomeAssistant, device_id: str) -> Any:
    if (found := alicia_id(hass, device_id)) is None:
        return None
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if (device := entry.runtime_data.roster.devices.get(found)) is not None:
            return device.record
    return None


async def async_get_triggers(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, Any]]:
    """One trigger per event type of each event capability (button, remote, doorbell)."""
    if (record := _record(hass, device_id)) is None:
        return []
    triggers = []
    for capability in record.capabilities:
        if capability.name not in {d.key for d in EVENTS}:
            continue
        types = event_types(capability.parameters) or DEFAULT_EVENT_TYPES
        triggers += [
            {
                CONF_PLATFORM: "device",
                CONF_DOMAIN: DOMAIN,
                CONF_DEVICE_ID: device_id,
                CONF_TYPE: kind,
                CONF_SUBTYPE: capability.name,
            }
            for kind in types
        ]
    return triggers


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the alicia_button event the device's event entity fires."""
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: EVENT_BUTTON,
            CONF_EVENT_DATA: {
                CONF_DEVICE_ID: config[CONF_DEVICE_ID],
                "capability": config[CONF_SUBTYPE],
                "type": config[CONF_TYPE],
            },
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
