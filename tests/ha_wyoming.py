"""Home Assistant's own wyoming integration on our running server: its entities by domain."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.wyoming.client import host_port


async def wyoming_entities(hass: HomeAssistant, uri: str) -> dict[str, str]:
    """HA's wyoming entry for the server at uri, set up; the entity id of each domain it made."""
    host, port = host_port(uri)
    entry = MockConfigEntry(domain="wyoming", data={"host": host, "port": port})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return {
        e.domain: e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
