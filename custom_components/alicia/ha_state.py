"""alicia/integration/ha/state/{entity_id}: the state of exposed entities, for devices on the bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from homeassistant.components import mqtt
from homeassistant.components.homeassistant.exposed_entities import (
    async_listen_entity_updates,
    async_should_expose,
)
from homeassistant.const import EVENT_STATE_CHANGED, MAX_LENGTH_STATE_STATE
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .bus.home import STATE_ATTRIBUTES, HaState
from .bus.text import plain
from .bus_link import BusLink
from .const import SIGNAL_DEVICE_ONLINE
from .context import HubContext
from .device_registry import alicia_id

_LOGGER = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 0.5
# As long as a device's name may be (bus/payloads.py).
NAME_LENGTH = 128


class StatePublisher:
    """Publishes each exposed entity's state, retained; bursts of changes become one message."""

    def __init__(self, hass: HomeAssistant, hub: HubContext, link: BusLink) -> None:
        """Nothing is published until async_start()."""
        self.hass = hass
        self.hub = hub
        self.link = link
        self._pending: dict[str, asyncio.TimerHandle] = {}
        # Entities whose state is retained on the bus now.
        self._published: set[str] = set()
        # Entities no longer exposed whose removal MQTT did not take (it was down).
        self._unremoved: set[str] = set()

    def _exposed(self, entity_id: str) -> bool:
        try:
            return async_should_expose(self.hass, "conversation", entity_id)
        except KeyError:  # exposure settings not loaded: publish nothing
            return False

    async def async_start(self) -> None:
        """Publish every exposed state now, then each change."""
        for state in self.hass.states.async_all():
            if self._exposed(state.entity_id):
                await self._publish(state)
        self.hub.entry.async_on_unload(
            self.hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed)
        )
        # An entity or its device moved to another area: its state says so again.
        self.hub.entry.async_on_unload(
            self.hass.bus.async_listen(
                er.EVENT_ENTITY_REGISTRY_UPDATED, self._entity_moved
            )
        )
        self.hub.entry.async_on_unload(
            self.hass.bus.async_listen(
                dr.EVENT_DEVICE_REGISTRY_UPDATED, self._device_moved
            )
        )
        self.hub.entry.async_on_unload(
            self.hass.bus.async_listen(
                ar.EVENT_AREA_REGISTRY_UPDATED, self._area_renamed
            )
        )
        # A device (a bridge, say) came online: it may hold an old copy of a state,
        # retained by anyone on the broker; every state again, with a fresh time,
        # is newer than any such copy.
        self.hub.entry.async_on_unload(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_DEVICE_ONLINE.format(self.hub.entry.entry_id),
                self._republish,
            )
        )
        self.hub.entry.async_on_unload(self._cancel_pending)
        # Without exposure settings (KeyError), nothing is published either.
        with contextlib.suppress(KeyError):
            self.hub.entry.async_on_unload(
                async_listen_entity_updates(
                    self.hass, "conversation", self._exposure_changed
                )
            )

    @callback
    def _republish(self) -> None:
        """Every published state again, soon (one burst however many come online)."""
        for entity_id in list(self._published):
            self._schedule(entity_id)

    @callback
    def _exposure_changed(self) -> None:
        """The user changed what is exposed: publish the new ones, clear the others."""
        for entity_id in list(self._published):
            if not self._exposed(entity_id):
                self._published.discard(entity_id)
                self.hass.async_create_task(self._remove(entity_id), eager_start=True)
        for state in self.hass.states.async_all():
            if state.entity_id not in self._published and self._exposed(
                state.entity_id
            ):
                self.hass.async_create_task(self._publish(state), eager_start=True)

    def _topic(self, entity_id: str) -> str:
        return f"{self.hub.prefix}/integration/ha/state/{entity_id}"

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        if event.data["new_state"] is not None:
            self._schedule(event.data["entity_id"])

    @callback
    def _entity_moved(self, event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        if event.data["action"] == "update" and "area_id" in event.data["changes"]:
            self._schedule(event.data["entity_id"])

    @callback
    def _device_moved(self, event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] != "update" or "area_id" not in event.data["changes"]:
            return
        registry = er.async_get(self.hass)
        for entry in er.async_entries_for_device(registry, event.data["device_id"]):
            self._schedule(entry.entity_id)

    @callback
    def _area_renamed(self, event: Event[ar.EventAreaRegistryUpdatedData]) -> None:
        if event.data["action"] != "update":
            return
        for entity_id in list(self._published):
            if self._area_id(entity_id) == event.data["area_id"]:
                self._schedule(entity_id)

    @callback
    def _schedule(self, entity_id: str) -> None:
        """Publish soon (bursts of changes become one message), if exposed."""
        if not self._exposed(entity_id):
            return
        if entity_id not in self._pending:
            self._pending[entity_id] = self.hass.loop.call_later(
                DEBOUNCE_SECONDS, self._flush, entity_id
            )

    @callback
    def _flush(self, entity_id: str) -> None:
        self._pending.pop(entity_id, None)
        # Exposure may have been taken back while the change waited.
        if (state := self.hass.states.get(entity_id)) is not None and self._exposed(
            entity_id
        ):
            self.hass.async_create_task(self._publish(state), eager_start=True)

    @callback
    def _cancel_pending(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    def _area_id(self, entity_id: str) -> str | None:
        """The entity's area, or its device's."""
        entry = er.async_get(self.hass).async_get(entity_id)
        if entry is None:
            return None
        if entry.area_id is None and entry.device_id is not None:
            device = dr.async_get(self.hass).async_get(entry.device_id)
            return device.area_id if device is not None else None
        return entry.area_id

    def _area(self, entity_id: str) -> str | None:
        """The name of the entity's area, or of its device's."""
        area_id = self._area_id(entity_id)
        area = ar.async_get(self.hass).async_get_area(area_id) if area_id else None
        return area.name if area is not None else None

    async def _remove(self, entity_id: str) -> None:
        """Say, signed, that the entity is no longer exposed; then clear the broker's copy."""
        # The empty retained message carries no signature: readers cannot tell it
        # from anyone's, so the signed tombstone is what removes the entity.
        tombstone = HaState.tombstone(entity_id).to_payload()
        topic = self._topic(entity_id)
        try:
            await self.link.async_publish(
                topic, self.link.message("broadcast", "event", tombstone)
            )
            await mqtt.async_publish(self.hass, topic, b"", 1, True)
        except HomeAssistantError as err:
            _LOGGER.debug("Removal of %s not published: %s", entity_id, err)
            self._unremoved.add(entity_id)  # sent when MQTT connects again
            return
        self._unremoved.discard(entity_id)

    @callback
    def republish_all(self) -> None:
        """Every exposed state again, and each removal not sent yet (MQTT connected again)."""
        for entity_id in list(self._unremoved):
            self._unremoved.discard(entity_id)
            if not self._exposed(entity_id):
                self.hass.async_create_task(self._remove(entity_id), eager_start=True)
        for state in self.hass.states.async_all():
            self._schedule(state.entity_id)

    def _alicia_device(self, entity_id: str) -> str | None:
        """The Alicia device an entity comes from (its hub, if behind one); None for others."""
        entry = er.async_get(self.hass).async_get(entity_id)
        if (
            entry is None
            or entry.config_entry_id != self.hub.entry.entry_id
            or entry.device_id is None
            or (alicia := alicia_id(self.hass, entry.device_id)) is None
        ):
            return None
        record = self.hub.devices.get(alicia)
        return (record.via_device or alicia) if record is not None else alicia

    async def _publish(self, state: State) -> None:
        # Names come from anyone (other integrations' devices, over the air) and
        # reach the language model: printable text of a name's length only.
        area = self._area(state.entity_id)
        published = HaState.of(
            state.entity_id,
            plain(state.state, MAX_LENGTH_STATE_STATE),
            plain(area, NAME_LENGTH) if area is not None else None,
            {
                key: plain(value, NAME_LENGTH) if isinstance(value, str) else value
                for key, value in state.attributes.items()
                if key in STATE_ATTRIBUTES
            },
            state.last_changed.isoformat(),
            device=self._alicia_device(state.entity_id),
        )
        message = self.link.message("broadcast", "event", published.to_payload())
        self._published.add(state.entity_id)
        try:
            await self.link.async_publish(
                self._topic(state.entity_id), message, retain=True
            )
        except HomeAssistantError as err:
            # MQTT is down: every state goes out again when it connects.
            _LOGGER.debug("State of %s not published: %s", state.entity_id, err)
