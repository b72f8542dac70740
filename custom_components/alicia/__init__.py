"""Alicia: a local voice assistant and plug-and-play device bus on MQTT."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady

from .const import DEFAULT_TOPIC_PREFIX, DOMAIN


@dataclass(slots=True)
class AliciaData:
    """What a loaded Alicia entry holds."""

    topic_prefix: str


type AliciaConfigEntry = ConfigEntry[AliciaData]


async def async_setup_entry(hass: HomeAssistant, entry: AliciaConfigEntry) -> bool:
    """Set up Alicia once the MQTT client is available."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="mqtt_not_available"
        )
    entry.runtime_data = AliciaData(topic_prefix=DEFAULT_TOPIC_PREFIX)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: AliciaConfigEntry) -> bool:
    """Unload Alicia."""
    return True
