"""The names people say (areas, exposed entities, their aliases), ranked, published for STT vocabulary biasing."""

from __future__ import annotations

import contextlib
import logging
from typing import Any
import unicodedata

from homeassistant.components.homeassistant.exposed_entities import (
    async_listen_entity_updates,
    async_should_expose,
)
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    area_registry as ar,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.helpers.debounce import Debouncer

from .bus.text import plain
from .bus.vocabulary import Vocabulary
from .bus_link import BusLink
from .context import HubContext

_LOGGER = logging.getLogger(__name__)
MAX_PHRASES = 1000
MAX_LENGTH = 100


# Domains people give commands to: their names are said more than a sensor's.
COMMANDED = frozenset(
    {"alarm_control_panel", "button", "climate", "cover", "fan", "humidifier",
     "input_boolean", "input_button", "lawn_mower", "light", "lock", "media_player",
     "scene", "script", "siren", "switch", "vacuum", "valve", "water_heater"}
)  # fmt: skip


@callback
def home_vocabulary(hass: HomeAssistant) -> Vocabulary:
    """The names people say, ranked, and what the home's command sentences may name.

    phrases, most important first (what STT keeps when its prompt is full): areas
    and floors (every command may name one), then the entities people command, then
    the other exposed entities; within each, the user's aliases before the name.
    """
    ranked: list[dict[str, None]] = [{}, {}, {}]
    areas: dict[str, None] = {}
    for area in ar.async_get(hass).async_list_areas():
        areas.update(dict.fromkeys(map(_said, (*area.aliases, area.name))))
    floors: dict[str, None] = {}
    for floor in fr.async_get(hass).async_list_floors():
        floors.update(dict.fromkeys(map(_said, (*floor.aliases, floor.name))))
    ranked[0].update(areas | floors)
    named: dict[tuple[str, str], None] = {}
    registry = er.async_get(hass)
    for state in hass.states.async_all():
        try:
            exposed = async_should_expose(hass, "conversation", state.entity_id)
        except KeyError:  # HA's exposure settings are not loaded (no conversation)
            break
        if not exposed:
            continue
        names: list[str] = []
        if (entry := registry.async_get(state.entity_id)) is not None:
            names.extend(_aliases(hass, entry))
        names.append(str(state.attributes.get("friendly_name") or ""))
        names = [_said(name) for name in names if name and len(name) <= MAX_LENGTH]
        names = [name for name in names if name]
        ranked[1 if state.domain in COMMANDED else 2].update(dict.fromkeys(names))
        named.update(dict.fromkeys((name, state.domain) for name in names))
    phrases: dict[str, None] = {}
    for tier in ranked:
        phrases.update(tier)
    return Vocabulary(
        _bounded(phrases), tuple(named)[:MAX_PHRASES], _bounded(areas), _bounded(floors)
    )


def _said(name: str) -> str:
    """A name as the contract takes it: printable (a control character is a space), or "" if none is left."""
    said = " ".join(plain(name, MAX_LENGTH).split())
    # A mark with nothing to sit on shows nothing: the bridge would refuse the whole list.
    while said and unicodedata.category(said[0]).startswith("M"):
        said = said[1:].lstrip()
    return said


def _bounded(names: dict[str, None]) -> tuple[str, ...]:
    """At most MAX_PHRASES names the contract takes."""
    return tuple(name for name in names if name)[:MAX_PHRASES]


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

    def __init__(self, hass: HomeAssistant, hub: HubContext, link: BusLink) -> None:
        """Nothing is published until async_start()."""
        self.hass = hass
        self.hub = hub
        self.link = link
        self._last: Vocabulary | None = None
        self._debouncer = Debouncer(
            hass, _LOGGER, cooldown=2.0, immediate=False, function=self._publish
        )

    async def async_start(self) -> None:
        """Publish now, and again whenever areas, floors, entity names or exposure change."""
        await self._publish()
        entry = self.hub.entry

        @callback
        def changed(_event: Event[Any]) -> None:
            self._debouncer.async_schedule_call()

        for event_type in (
            er.EVENT_ENTITY_REGISTRY_UPDATED,
            ar.EVENT_AREA_REGISTRY_UPDATED,
            fr.EVENT_FLOOR_REGISTRY_UPDATED,
        ):
            entry.async_on_unload(self.hass.bus.async_listen(event_type, changed))
        # Exposure of an entity without a registry entry (a YAML template) changes
        # no registry: only this says so. Without exposure settings, nothing is named.
        with contextlib.suppress(KeyError):
            entry.async_on_unload(
                async_listen_entity_updates(
                    self.hass, "conversation", self._debouncer.async_schedule_call
                )
            )

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
        current = home_vocabulary(self.hass)
        if current == self._last:
            return
        message = self.link.message("broadcast", "event", current.to_payload())
        try:
            await self.link.async_publish(
                f"{self.hub.prefix}/voice/stt/vocabulary", message, retain=True
            )
        except HomeAssistantError as err:
            # MQTT is down: sent when it connects again (republish).
            _LOGGER.debug("Vocabulary not published: %s", err)
            return
        self._last = current

    async def republish(self) -> None:
        """The vocabulary again, even unchanged (MQTT connected again: the broker may have lost it)."""
        self._last = None
        await self._publish()
