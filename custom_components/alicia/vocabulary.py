"""The names people say (exposed entities, their aliases, areas), published for STT vocabulary biasing."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.helpers.debounce import Debouncer

from .context import HubContext

_LOGGER = logging.getLogger(__name__)
MAX_PHRASES = 1000
MAX_LENGTH = 100


@callback
def phrases(hass: HomeAssistant) -> list[str]:
    """Area names and aliases, then the names and aliases of entities exposed to Assist."""
    found: dict[str, None] = {}
    for area in ar.async_get(hass).async_list_areas():
        for name in (area.name, *area.aliases):
            found[name] = None
    entities = er.async_get(hass)
    for state in hass.states.async_all():
        try:
            exposed = async_should_expose(hass, "conversation", state.entity_id)
        except KeyError:  # HA's exposure settings are not loaded (no conversation)
            return list(found)[:MAX_PHRASES]
        if not exposed:
            continue
        names = [str(state.attributes.get("friendly_name") or "")]
        if (entry := entities.async_get(state.entity_id)) is not None:
            names.extend(_aliases(hass, entry))
        for name in names:
            if name:
                found[name] = None
    return [p for p in found if len(p) <= MAX_LENGTH][:MAX_PHRASES]


def _aliases(hass: HomeAssistant, entry: er.RegistryEntry) -> list[str]:
    """The entity's aliases as people say them."""
    # Since HA 2026.3 an alias may be a marker for the computed name, which
    # HA's helper resolves; before, aliases are plain strings.
    resolve = getattr(er, "async_get_entity_aliases", None)
    if resolve is not None:
        return list(resolve(hass, entry))
    return [alias for alias in entry.aliases if isinstance(alias, str)]


class VocabularyPublisher:
    """Publishes retained on <prefix>/voice/stt/vocabulary when the names change (debounced)."""

    def __init__(self, hass: HomeAssistant, hub: HubContext) -> None:
        """Nothing is published until async_start()."""
        self.hass = hass
        self.hub = hub
        self._last: list[str] | None = None
        self._debouncer = Debouncer(
            hass, _LOGGER, cooldown=2.0, immediate=False, function=self._publish
        )

    async def async_start(self) -> None:
        """Publish now, and again whenever areas, entity names or exposure change."""
        await self._publish()
        entry = self.hub.entry

        @callback
        def changed(_event: Event[Any]) -> None:
            self._debouncer.async_schedule_call()

        for event_type in (
            er.EVENT_ENTITY_REGISTRY_UPDATED,
            ar.EVENT_AREA_REGISTRY_UPDATED,
        ):
            entry.async_on_unload(self.hass.bus.async_listen(event_type, changed))

        @callback
        def renamed(event: Event[EventStateChangedData]) -> None:
            old, new = event.data.get("old_state"), event.data.get("new_state")
            if (
                old is None
                or new is None
                or old.attributes.get("friendly_name")
                != new.attributes.get("friendly_name")
            ):
                self._debouncer.async_schedule_call()

        entry.async_on_unload(self.hass.bus.async_listen(EVENT_STATE_CHANGED, renamed))
        entry.async_on_unload(self._debouncer.async_shutdown)

    async def _publish(self) -> None:
        current = phrases(self.hass)
        if current == self._last:
            return
        self._last = current
        message = self.hub.envelope("broadcast", "event", {"phrases": current})
        await self.hub.async_publish(
            f"{self.hub.prefix}/voice/stt/vocabulary", message, retain=True
        )
