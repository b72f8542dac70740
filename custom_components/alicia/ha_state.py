"""alicia/integration/ha/state/{entity_id}: the state of exposed entities, for devices on the bus."""

from __future__ import annotations

from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)

from .context import HubContext

DEBOUNCE_SECONDS = 0.5
ATTRIBUTES = (
    "friendly_name",
    "unit_of_measurement",
    "device_class",
    "brightness",
    "current_position",
    "volume_level",
)


class StatePublisher:
    """Publishes each exposed entity's state, retained; bursts of changes become one message."""

    def __init__(self, hass: HomeAssistant, hub: HubContext) -> None:
        """Nothing is published until async_start()."""
        self.hass = hass
        self.hub = hub
        self._pending: dict[str, Any] = {}

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
        self.hub.entry.async_on_unload(self._cancel_pending)

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        if event.data["new_state"] is None or not self._exposed(entity_id):
            return
        if entity_id not in self._pending:
            self._pending[entity_id] = self.hass.loop.call_later(
                DEBOUNCE_SECONDS, self._flush, entity_id
            )

    @callback
    def _flush(self, entity_id: str) -> None:
        self._pending.pop(entity_id, None)
        if (state := self.hass.states.get(entity_id)) is not None:
            self.hass.async_create_task(self._publish(state), eager_start=True)

    @callback
    def _cancel_pending(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    async def _publish(self, state: State) -> None:
        payload = {
            "entity_id": state.entity_id,
            "state": state.state,
            "attributes": {
                k: state.attributes[k] for k in ATTRIBUTES if k in state.attributes
            },
            "last_changed": state.last_changed.isoformat(),
        }
        message = self.hub.envelope("broadcast", "event", payload)
        await self.hub.async_publish(
            f"{self.hub.prefix}/integration/ha/state/{state.entity_id}",
            message,
            retain=True,
        )
