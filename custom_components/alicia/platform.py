"""Adding entities to a platform as devices are approved or change."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import Capability
from .const import DOMAIN, SIGNAL_DEVICE_ADDED
from .device import DeviceRecord
from .hub import AliciaHub


def setup_platform[D: EntityDescription](
    hass: HomeAssistant,
    hub: AliciaHub,
    async_add_entities: AddConfigEntryEntitiesCallback,
    table: Iterable[D],
    build: Callable[[AliciaHub, DeviceRecord, Capability, D], Entity | None],
    *,
    extra: Callable[[AliciaHub, DeviceRecord], Iterable[Entity]] | None = None,
) -> None:
    """Create each device's entities once per approval: a capability's where the table has its row, also later."""
    rows = {description.key: description for description in table}
    # The unique ids made, with their device's id.
    created: dict[str, str] = {}

    @callback
    def add(record: DeviceRecord) -> None:
        new: list[Entity] = []
        candidates: list[Entity] = [
            e
            for c in record.capabilities
            if (row := rows.get(c.name)) is not None
            and (e := build(hub, record, c, row)) is not None
        ]
        if extra is not None:
            candidates.extend(extra(hub, record))
        offered = {entity.unique_id for entity in candidates}
        for gone in [u for u, d in created.items() if d == record.device_id]:
            if gone not in offered:
                # Its entity went (registered again without it): made again if it comes back.
                del created[gone]
        for entity in candidates:
            if entity.unique_id is not None and entity.unique_id not in created:
                created[entity.unique_id] = record.device_id
                new.append(entity)
        if new:
            async_add_entities(new)

    @callback
    def dropped(event: Event[dict[str, Any]]) -> None:
        device_id = event.data.get("device_id")
        if device_id in hub.roster.devices:
            return  # another entry's device of that id: ours stays
        # Its entities went with its HA device: approved again, it gets them anew.
        for gone in [u for u, d in created.items() if d == device_id]:
            del created[gone]

    hub.entry.async_on_unload(
        async_dispatcher_connect(
            hass, SIGNAL_DEVICE_ADDED.format(hub.entry.entry_id), add
        )
    )
    # Roster.drop_device fires it (the user removed the device, or it unregistered).
    hub.entry.async_on_unload(
        hass.bus.async_listen(f"{DOMAIN}_device_removed", dropped)
    )
