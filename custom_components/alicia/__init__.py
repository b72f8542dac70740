"""Alicia: a local voice assistant and plug-and-play device bus on MQTT."""

from __future__ import annotations

import asyncio
import logging

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType
from homeassistant.loader import async_get_integration

from .const import (
    CONF_ANNOUNCE_VOLUME,
    CONF_SECURITY_MODE,
    CONF_TOPIC_PREFIX,
    DEFAULT_TOPIC_PREFIX,
    DOMAIN,
)
from .entity_tables import CAPABILITY_PLATFORMS
from .entry_data import AliciaConfigEntry
from .ha_state import StatePublisher, async_clear_states
from .hub import AliciaHub
from .services import async_setup_services
from .storage import HubStore
from .vocabulary import VocabularyPublisher

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.LIGHT,
    Platform.MEDIA_PLAYER,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
# Deleting the entry waits this long at most for the broker to clear its copies.
REMOVE_SECONDS = 10


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: AliciaConfigEntry) -> bool:
    """1.1 → 1.2: the announcement volume in the announce action's 0-1 scale."""
    if entry.version == 1 and entry.minor_version < 2:
        options = dict(entry.options)
        if (percent := options.get(CONF_ANNOUNCE_VOLUME)) is not None:
            options[CONF_ANNOUNCE_VOLUME] = round(percent / 100, 2)
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
    return entry.version == 1


async def async_setup_entry(hass: HomeAssistant, entry: AliciaConfigEntry) -> bool:
    """Restore devices, then listen to the bus once MQTT is available."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="mqtt_not_available"
        )
    hub = AliciaHub.create(hass, entry, CAPABILITY_PLATFORMS)
    await hub.async_load()
    entry.runtime_data = hub
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name="Alicia",
        manufacturer="Alicia",
        model="Device bus hub",
        sw_version=str((await async_get_integration(hass, DOMAIN)).version),
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    hub.platforms = [*PLATFORMS, *_agent_platform(hass), *_satellite_platform(hass)]
    await hass.config_entries.async_forward_entry_setups(entry, hub.platforms)
    # Entities of restored devices exist before the first message arrives.
    hub.roster.restore()
    await hub.async_start()
    vocabulary = VocabularyPublisher(hass, hub.roster, hub.link)
    states = StatePublisher(hass, hub.roster, hub.link, hub.store.retained)
    await vocabulary.async_start()
    await states.async_start()

    @callback
    def connected(up: bool) -> None:
        # A broker restarted without its retained copies (or HA started while it
        # was down) holds none of what the bridges read: send it all again.
        if up:
            hub.approvals.clear_retained()
            hub.roster.publish_trust()
            hass.async_create_task(vocabulary.republish(), eager_start=False)
            states.republish_all()

    entry.async_on_unload(mqtt.async_subscribe_connection_status(hass, connected))
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    return True


async def _async_options_updated(hass: HomeAssistant, entry: AliciaConfigEntry) -> None:
    hub = entry.runtime_data
    if entry.options.get(CONF_TOPIC_PREFIX) != hub.options.get(CONF_TOPIC_PREFIX):
        # Another prefix is another bus: every subscription changes.
        await hass.config_entries.async_reload(entry.entry_id)
        return
    mode = entry.options.get(CONF_SECURITY_MODE)
    if mode is not None and mode != hub.options.get(CONF_SECURITY_MODE):
        hub.set_security_mode(mode)
    # The rest is read where it is used: applied now, with no entity going unavailable.
    hub.options = dict(entry.options)


async def async_unload_entry(hass: HomeAssistant, entry: AliciaConfigEntry) -> bool:
    """Stop listening and unload the platforms."""
    hub = entry.runtime_data
    await hub.async_stop()
    return await hass.config_entries.async_unload_platforms(entry, hub.platforms)


async def async_remove_entry(hass: HomeAssistant, entry: AliciaConfigEntry) -> None:
    """Clear what Alicia left retained on the broker (best effort), then its store and key."""
    store = HubStore(hass, entry.entry_id)
    prefix = entry.options.get(CONF_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX)
    try:
        stored = await store.async_load()
        async with asyncio.timeout(REMOVE_SECONDS):
            if await mqtt.async_wait_for_mqtt_client(hass):
                await async_clear_states(hass, stored.key, store.retained)
                # Unsigned: they clear the broker's copies; a bridge running keeps
                # its trust list until it restarts.
                for topic in ("voice/stt/vocabulary", "system/security/trust",
                              "system/security/hub"):  # fmt: skip
                    await mqtt.async_publish(hass, f"{prefix}/{topic}", b"", 1, True)
    except (HomeAssistantError, TimeoutError, ValueError) as err:
        _LOGGER.warning("Alicia's retained messages not all cleared: %s", err)
    await store.async_remove()


def _agent_platform(hass: HomeAssistant) -> list[Platform]:
    """The Alicia agent where HA holds conversations (default_config, Assist)."""
    return [Platform.CONVERSATION] if "conversation" in hass.config.components else []


def _satellite_platform(hass: HomeAssistant) -> list[Platform]:
    """Satellites where HA runs Assist pipelines (default_config, Assist)."""
    return (
        [Platform.ASSIST_SATELLITE]
        if "assist_pipeline" in hass.config.components
        else []
    )


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: AliciaConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device; its retained registration is cleared too."""
    if entry.state is not ConfigEntryState.LOADED:
        # Its record is in the hub's store: removed now, it would come back.
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="not_loaded"
        )
    for domain, device_id in device.identifiers:
        if domain == DOMAIN and device_id != entry.entry_id:
            entry.runtime_data.approvals.remove(device_id)
            return True
    return False
