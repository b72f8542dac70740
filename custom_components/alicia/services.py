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
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import voluptuous as vol

from .acl import mosquitto_acl
from .announce import Announcement, Target, async_announce, resolve_players
from .bus.envelope import MAX_DEPTH
from .bus.errors import ProtocolError
from .bus.plain_json import check_json
from .bus.topics import Kind, size_limit
from .const import DOMAIN
from .device_registry import alicia_id, find_device
from .entry_data import AliciaConfigEntry

SERVICE_ANNOUNCE = "announce"
SERVICE_ACL = "mosquitto_acl"
SERVICE_CONFIGURE = "configure_device"
CONFIGURE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_DEVICE_ID): cv.string, vol.Required("settings"): dict}
)
# The settings as sent, leaving room for the envelope and its signature within what
# a config topic carries: a device refuses a larger message, kept retained for it.
MAX_SETTINGS = size_limit(Kind.CONFIG) - 4096
# Neither message nor media is refused by the action itself, in the user's words.
SCHEMA = vol.Schema(
    {
        vol.Exclusive("message", "what"): cv.string,
        vol.Exclusive("media_url", "what"): cv.string,
        vol.Optional("volume"): vol.All(vol.Coerce(float), vol.Range(min=0, max=1)),
        vol.Optional("language"): cv.string,
        vol.Optional("tts_entity"): cv.entity_id,
        **cv.ENTITY_SERVICE_FIELDS,
    }
)


def loaded_entry(hass: HomeAssistant) -> AliciaConfigEntry:
    """The loaded Alicia entry, or the error an action gives without one."""
    entries: list[AliciaConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if not entries:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="not_loaded"
        )
    return entries[0]


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions."""

    async def announce(call: ServiceCall) -> ServiceResponse:
        entry = loaded_entry(hass)
        options = entry.options
        data = call.data
        if not data.get("message") and not data.get("media_url"):
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="nothing_to_say"
            )
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
        players = resolve_players(hass, entry.entry_id, target)
        played = await async_announce(
            hass, players, announcement, options, call.context
        )
        return {"players": list(played)}

    hass.services.async_register(
        DOMAIN,
        SERVICE_ANNOUNCE,
        announce,
        schema=SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )

    async def configure(call: ServiceCall) -> None:
        entry = loaded_entry(hass)
        settings = call.data["settings"]
        try:
            # The message nests the settings two deep (envelope, payload).
            check_json(
                settings, "settings", longest=MAX_SETTINGS, deepest=MAX_DEPTH - 2
            )
        except ProtocolError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_settings",
                translation_placeholders={"reason": str(err)},
            ) from err
        ha_device_id = call.data[ATTR_DEVICE_ID]
        device_id = alicia_id(hass, ha_device_id)
        # The HA device must be the one this entry holds for that id: another
        # entry's device may carry the same identifier.
        ours = find_device(hass, entry.entry_id, device_id) if device_id else None
        if (
            ours is None
            or ours.id != ha_device_id
            or device_id not in entry.runtime_data.roster.devices
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_device",
                translation_placeholders={"device_id": ha_device_id},
            )
        await entry.runtime_data.link.async_configure(device_id, settings)

    # It rewrites what a device runs with (retained, signed by HA): admins only.
    async_register_admin_service(
        hass, DOMAIN, SERVICE_CONFIGURE, configure, schema=CONFIGURE_SCHEMA
    )

    async def acl(call: ServiceCall) -> ServiceResponse:
        hub = loaded_entry(hass).runtime_data
        devices = [
            (d, dev.record.device_type, dev.record.via_device)
            for d, dev in hub.roster.devices.items()
        ]
        return {"acl": mosquitto_acl(hub.prefix, devices)}

    # It lays out who may publish where on the broker: admins only.
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_ACL,
        acl,
        schema=vol.Schema({}),
        supports_response=SupportsResponse.ONLY,
    )
