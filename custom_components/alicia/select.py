"""The hub's security mode, one click away; each satellite's pipeline and VAD sensitivity."""

from __future__ import annotations

from homeassistant.components.assist_pipeline import (
    AssistPipelineSelect,
    VadSensitivitySelect,
)
from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bus.policy import Mode
from .const import CONF_SECURITY_MODE, DOMAIN
from .device import DeviceRecord
from .entity import AliciaEntity, HubEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform
from .satellites import is_satellite

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The security mode select of the hub device; a satellite's selects as it is approved."""
    async_add_entities([SecurityModeSelect(entry.runtime_data, "security_mode")])

    def satellite_selects(hub: AliciaHub, record: DeviceRecord) -> list[Entity]:
        device = hub.roster.devices.get(record.device_id)
        if device is not None and not is_satellite(device):
            # Registered again as no satellite: its selects go with its satellite.
            registry = er.async_get(hass)
            for key in ("pipeline", "vad_sensitivity"):
                unique_id = f"{record.device_id}-{key}"
                if old := registry.async_get_entity_id("select", DOMAIN, unique_id):
                    registry.async_remove(old)
        if device is None or "assist_pipeline" not in hass.config.components:
            return []
        return (
            [PipelineSelect(hub, record), VadSelect(hub, record)]
            if is_satellite(device)
            else []
        )

    setup_platform(
        hass, entry.runtime_data, async_add_entities, (), lambda *_: None,
        extra=satellite_selects,
    )  # fmt: skip


class SatelliteSetting(AliciaEntity):
    """A satellite's setting kept in HA: there to read when its device speaks again."""

    @property
    def available(self) -> bool:
        """Always: HA's pipeline reads it at the start of a run, whatever the heartbeats say."""
        return True


class PipelineSelect(SatelliteSetting, AssistPipelineSelect):
    """The Assist pipeline a satellite's runs use (HA's preferred one by default)."""

    def __init__(self, hub: AliciaHub, record: DeviceRecord) -> None:
        """Unique id `{device_id}-pipeline`, as HA's satellites name theirs."""
        AliciaEntity.__init__(
            self, hub, record, "pipeline", AssistPipelineSelect.entity_description
        )
        AssistPipelineSelect.__init__(self, hub.hass, DOMAIN, record.device_id)


class VadSelect(SatelliteSetting, VadSensitivitySelect):
    """How long a pause ends a satellite's command."""

    def __init__(self, hub: AliciaHub, record: DeviceRecord) -> None:
        """Unique id `{device_id}-vad_sensitivity`."""
        AliciaEntity.__init__(
            self,
            hub,
            record,
            "vad_sensitivity",
            VadSensitivitySelect.entity_description,
        )
        VadSensitivitySelect.__init__(self, hub.hass, record.device_id)


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
        return str(self.hub.security.mode)

    async def async_select_option(self, option: str) -> None:
        """Store the mode in the options (an admin only); the update listener applies it in place."""
        await self.async_require_admin()
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
