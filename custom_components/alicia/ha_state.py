"""alicia/integration/ha/state/{entity_id}: the state of exposed entities, for devices on the bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from homeassistant.components import mqtt
from homeassistant.components.homeassistant.exposed_entities import (
    async_listen_entity_updates,
    async_should_expose,
)
from homeassistant.const import EVENT_STATE_CHANGED, MAX_LENGTH_STATE_STATE
from homeassistant.core import (
    CoreState,
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
from homeassistant.helpers.start import async_at_started

from .bus.envelope import new_message
from .bus.home import STATE_ATTRIBUTES, HaState
from .bus.signing import KeyPair
from .bus.text import plain
from .bus.topics import HUB_SOURCE
from .bus_link import BusLink
from .const import SIGNAL_DEVICE_ONLINE
from .context import HubContext
from .device_registry import alicia_id

_LOGGER = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 0.5
# As long as a device's name may be (bus/payloads.py).
NAME_LENGTH = 128
# A device's online asks for every state again at most once a minute, and every
# state goes out again at most every 30 s whoever asks: each is a signed publish.
ONLINE_DEVICE_SECONDS = 60.0
ONLINE_ALL_SECONDS = 30.0


def state_topic(prefix: str, entity_id: str) -> str:
    """Where an entity's state is retained."""
    return f"{prefix}/integration/ha/state/{entity_id}"


async def async_clear_states(
    hass: HomeAssistant, key: KeyPair | None, retained: dict[str, set[str]]
) -> None:
    """Remove every state left retained (the entry is deleted); HomeAssistantError if MQTT is down."""
    for prefix, entity_ids in retained.items():
        for entity_id in sorted(entity_ids):
            topic = state_topic(prefix, entity_id)
            # The empty retained message carries no signature: readers cannot tell
            # it from anyone's, so the signed tombstone is what removes the entity.
            if key is not None:
                tombstone = HaState.tombstone(entity_id).to_payload()
                message = new_message(HUB_SOURCE, "event", tombstone)
                await mqtt.async_publish(hass, topic, key.seal(topic, message), 1)
            await mqtt.async_publish(hass, topic, b"", 1, True)


class StatePublisher:
    """Publishes each exposed entity's state, retained; bursts of changes become one message."""

    def __init__(
        self,
        hass: HomeAssistant,
        hub: HubContext,
        link: BusLink,
        retained: dict[str, set[str]],
    ) -> None:
        """Nothing is published until async_start(); retained: the hub's store's."""
        self.hass = hass
        self.hub = hub
        self.link = link
        self._pending: dict[str, asyncio.TimerHandle] = {}
        # Entities whose state may be retained on the bus, by topic prefix: published,
        # or gone and their removal not taken yet (MQTT was down). Stored, so that
        # what is unexposed while Alicia is not running is still removed.
        self._retained = retained
        self._published = retained.setdefault(hub.prefix, set())
        self._removing: set[tuple[str, str]] = set()
        self._stopped = False
        # When each device's online last asked for every state, and when they last went.
        self._online: dict[str, float] = {}
        self._republished: float | None = None
        self._republish_later: asyncio.TimerHandle | None = None

    def _exposed(self, entity_id: str) -> bool:
        try:
            return async_should_expose(self.hass, "conversation", entity_id)
        except KeyError:  # exposure settings not loaded: publish nothing
            return False

    def _stale(self, entity_id: str) -> bool:
        """Retained but not to be: unexposed, or gone (once HA has started: until then it may come back)."""
        if not self._exposed(entity_id):
            return True
        return (
            self.hass.states.get(entity_id) is None
            and self.hass.state is CoreState.running
        )

    async def async_start(self) -> None:
        """Remove what an earlier run left that is no longer exposed, publish every exposed state now, then each change."""
        for prefix, entity_ids in list(self._retained.items()):
            if prefix != self.hub.prefix:  # another prefix was used: another bus
                for entity_id in list(entity_ids):
                    self._start_removal(prefix, entity_id)
        self._sweep()
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
                self._online_again,
            )
        )
        self.hub.entry.async_on_unload(self._cancel_pending)
        # Entities that are gone once everything has started.
        self.hub.entry.async_on_unload(async_at_started(self.hass, self._started))
        # Without exposure settings (KeyError), nothing is published either.
        with contextlib.suppress(KeyError):
            self.hub.entry.async_on_unload(
                async_listen_entity_updates(
                    self.hass, "conversation", self._exposure_changed
                )
            )

    @callback
    def _online_again(self, device_id: str | None = None) -> None:
        """A device came online: every state again, within the bounds on how often."""
        now = time.monotonic()
        if device_id is not None:
            if now - self._online.get(device_id, -ONLINE_DEVICE_SECONDS) < (
                ONLINE_DEVICE_SECONDS
            ):
                return
            self._online = {
                device: at
                for device, at in self._online.items()
                if now - at < ONLINE_DEVICE_SECONDS
            }
            self._online[device_id] = now
        if self._republish_later is not None:  # due already
            return
        if self._republished is None or now - self._republished >= ONLINE_ALL_SECONDS:
            self._republish()
            return
        # Sent lately: a device that came online since is served when the bound allows.
        self._republish_later = self.hass.loop.call_later(
            self._republished + ONLINE_ALL_SECONDS - now, self._republish
        )

    @callback
    def _republish(self) -> None:
        """Every published state again, soon (one burst however many come online)."""
        self._republish_later = None
        self._republished = time.monotonic()
        for entity_id in list(self._published):
            self._schedule(entity_id)

    @callback
    def _exposure_changed(self) -> None:
        """The user changed what is exposed: publish the new ones, clear the others."""
        self._sweep()
        for state in self.hass.states.async_all():
            if state.entity_id not in self._published and self._exposed(
                state.entity_id
            ):
                self.hass.async_create_task(self._publish(state), eager_start=True)

    @callback
    def _started(self, _hass: HomeAssistant) -> None:
        self._sweep()

    @callback
    def _sweep(self) -> None:
        """Remove each retained state no longer to be."""
        for entity_id in list(self._published):
            if self._stale(entity_id):
                self._start_removal(self.hub.prefix, entity_id)

    def _topic(self, entity_id: str) -> str:
        return state_topic(self.hub.prefix, entity_id)

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        # A state removed (the entity deleted, renamed or reloaded) is removed from
        # the bus after the same wait: one that comes straight back is only updated.
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
        """Publish (or remove) soon: bursts of changes become one message."""
        if entity_id not in self._published and not self._exposed(entity_id):
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
        elif entity_id in self._published and self._stale(entity_id):
            self._start_removal(self.hub.prefix, entity_id)

    @callback
    def _cancel_pending(self) -> None:
        self._stopped = True
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        if self._republish_later is not None:
            self._republish_later.cancel()
            self._republish_later = None

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

    @callback
    def _start_removal(self, prefix: str, entity_id: str) -> None:
        if (prefix, entity_id) not in self._removing:
            self._removing.add((prefix, entity_id))
            self.hass.async_create_task(
                self._remove(prefix, entity_id), eager_start=True
            )

    async def _remove(self, prefix: str, entity_id: str) -> None:
        """Remove the entity's state from the bus; kept to try again if MQTT does not take it."""
        topic = state_topic(prefix, entity_id)
        tombstone = HaState.tombstone(entity_id).to_payload()
        # The signed tombstone first: the empty retained message, unsigned, only
        # clears the broker's copy (async_clear_states).
        try:
            await self.link.async_publish(
                topic, self.link.message("broadcast", "event", tombstone)
            )
            await mqtt.async_publish(self.hass, topic, b"", 1, True)
        except HomeAssistantError as err:
            # Sent when MQTT connects again, or at the next start.
            _LOGGER.debug("Removal of %s not published: %s", entity_id, err)
            return
        finally:
            self._removing.discard((prefix, entity_id))
        if prefix == self.hub.prefix and not self._stale(entity_id):
            # Exposed again while the removal went out: its state follows it.
            self._schedule(entity_id)
            return
        held = self._retained.get(prefix, set())
        held.discard(entity_id)
        if not held and prefix != self.hub.prefix:
            self._retained.pop(prefix, None)
        self._save()

    def _save(self) -> None:
        # Not once unloaded: the entry may be being deleted, its store with it.
        if not self._stopped:
            self.hub.save()

    @callback
    def republish_all(self) -> None:
        """Every exposed state again, and each removal not sent yet (MQTT connected again)."""
        for prefix, entity_ids in list(self._retained.items()):
            for entity_id in list(entity_ids):
                if prefix != self.hub.prefix or self._stale(entity_id):
                    self._start_removal(prefix, entity_id)
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
        if state.entity_id not in self._published:
            self._published.add(state.entity_id)
            self._save()
        try:
            await self.link.async_publish(
                self._topic(state.entity_id), message, retain=True
            )
        except HomeAssistantError as err:
            # MQTT is down: every state goes out again when it connects.
            _LOGGER.debug("State of %s not published: %s", state.entity_id, err)
