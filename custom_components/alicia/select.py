"""The hub's security mode, one click away."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bus.policy import Mode
from .const import CONF_SECURITY_MODE, DOMAIN
from .entity import HubEntity
from .entry_data import AliciaConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The security mode select of the hub device."""
    async_add_entities([SecurityModeSelect(entry.runtime_data, "security_mode")])


class SecurityModeSelect(HubEntity, SelectEntity):
    """off / verify / enforce; changing it reloads the entry with the new mode."""

    _attr_entity_category = EntityCategory.CONFIG

    @property
    def options(self) -> list[str]:
        """off, verify, enforce."""
        return list(Mode)

    @property
    def current_option(self) -> str:
        """The mode admission applies."""
        return str(self.hub.admission.mode)

    async def async_select_option(self, option: str) -> None:
        """Store the mode in the options; the update listener applies it in place."""
        if option not in list(Mode):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="security_mode",
                translation_placeholders={"mode": option},
            )
        entry = self.hub.entry
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_SECURITY_MODE: option}
        )
