"""The actions: alicia.announce, alicia.configure_device and alicia.mosquitto_acl."""

from __future__ import annotations

from homeassistant.const import ATTR_AREA_ID, ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
import voluptuous as vol

from .acl import mosquitto_acl
from .announce import Announcement, Target, async_announce, resolve_players
from .const import DOMAIN

SERVICE_ANNOUNCE = "announce"
SERVICE_ACL = "mosquitto_acl"
SERVICE_CONFIGURE = "configure_device"
CONFIGURE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_DEVICE_ID): cv.string, vol.Required("settings"): dict}
)
SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Exclusive("message", "what"): cv.string,
            vol.Exclusive("media_url", "what"): cv.string,
            vol.Optional("volume"): vol.All(vol.Coerce(float), vol.Range(min=0, max=1)),
            vol.Optional("language"): cv.string,
            vol.Optional("tts_entity"): cv.entity_id,
            **cv.ENTITY_SERVICE_FIELDS,
        }
    ),
    cv.has_at_least_one_key("message", "media_url"),
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register alicia.announce."""

    async def announce(call: ServiceCall) -> ServiceResponse:
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
        if not entries:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="not_loaded"
            )
        options = entries[0].options
        data = call.data
        target = Target(
            entity_ids=tuple(cv.ensure_list(data.get(ATTR_ENTITY_ID))),
            device_ids=tuple(cv.ensure_list(data.get(ATTR_DEVICE_ID))),
            area_ids=tuple(cv.ensure_list(data.get(ATTR_AREA_ID))),
        )
        announcement = Announcement(
            message=data.get("message"),
            media_url=data.get("media_url"),
            language=data.get("language"),
            volume=data.get("volume"),
            tts_entity=data.get("tts_entity"),
        )
        players = resolve_players(hass, entries[0].entry_id, target)
        played = await async_announce(hass, players, announcement, options)
        return {"players": list(played)}

    hass.services.async_register(
        DOMAIN,
        SERVICE_ANNOUNCE,
        announce,
        schema=SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )

    async def configure(call: ServiceCall) -> None:
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
        if not entries:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="not_loaded"
            )
        hub = entries[0].runtime_data
        ha_device = dr.async_get(hass).async_get(call.data[ATTR_DEVICE_ID])
        identifiers = ha_device.identifiers if ha_device is not None else set()
        device_id = next((i for d, i in identifiers if d == DOMAIN), None)
        if device_id is None or device_id not in hub.devices:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_device",
                translation_placeholders={"device_id": call.data[ATTR_DEVICE_ID]},
            )
        await hub.async_configure(device_id, call.data["settings"])

    hass.services.async_register(
        DOMAIN, SERVICE_CONFIGURE, configure, schema=CONFIGURE_SCHEMA
    )

    async def acl(call: ServiceCall) -> ServiceResponse:
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
        if not entries:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="not_loaded"
            )
        hub = entries[0].runtime_data
        devices = [(d, dev.record.device_type) for d, dev in hub.devices.items()]
        return {"acl": mosquitto_acl(hub.prefix, devices)}

    hass.services.async_register(
        DOMAIN,
        SERVICE_ACL,
        acl,
        schema=vol.Schema({}),
        supports_response=SupportsResponse.ONLY,
    )
