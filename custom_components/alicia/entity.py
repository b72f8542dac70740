"""Base entity for Alicia devices."""

from __future__ import annotations

import asyncio
from functools import partial
import logging
from typing import Any

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN, SIGNAL_DEVICE_UPDATE, SIGNAL_HUB_UPDATE
from .device import DeviceRecord
from .hub import AliciaHub

_LOGGER = logging.getLogger(__name__)

# HA runs an intent's service call (a voice's, an LLM tool's) in a task so named.
# Before 2026.5 (its PR #167817) it waits 0.2 s on it, then counts it done and never
# reads its error: a refusal was a "Task exception was never retrieved" while the
# voice answered "Turned on", and only our warning can tell the truth.
INTENT_CALL_TASK = "intent_call_service_"
INTENT_ERRORS_UNREAD = (MAJOR_VERSION, MINOR_VERSION) < (2026, 5)


class AliciaEntity(Entity):
    """An entity of one device, updated by the hub's signals."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        hub: AliciaHub,
        record: DeviceRecord,
        key: str,
        description: EntityDescription,
    ) -> None:
        """Identify the entity by device and key."""
        self.hub = hub
        self.send = hub.commands_to(record.device_id)
        self.device_id = record.device_id
        self.key = key
        self.entity_description = description
        self._attr_unique_id = f"{record.device_id}_{key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, record.device_id)})

    @property
    def available(self) -> bool:
        """Unavailable with its device."""
        return self.hub.health.is_available(self.device_id)

    @property
    def parameters(self) -> dict[str, Any]:
        """Its capability's parameters as the device last registered them (a new range applies at once)."""
        device = self.hub.roster.devices.get(self.device_id)
        for capability in device.record.capabilities if device is not None else ():
            if capability.name == self.key:
                return capability.parameters
        return {}

    @property
    def reported(self) -> Any:
        """The device's latest value for this entity's key."""
        device = self.hub.roster.devices.get(self.device_id)
        return device.values.get(self.key) if device is not None else None

    async def async_added_to_hass(self) -> None:
        """Follow the device's updates."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_DEVICE_UPDATE.format(self.hub.entry.entry_id, self.device_id),
                self.async_write_ha_state,
            )
        )


class HubEntity(Entity):
    """An entity of the hub device itself (the config entry's service device)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: AliciaHub, key: str) -> None:
        """Identify the entity by entry and key."""
        self.hub = hub
        self._attr_translation_key = key
        self._attr_unique_id = f"{hub.entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, hub.entry.entry_id)})

    async def async_added_to_hass(self) -> None:
        """Follow the hub's updates."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_HUB_UPDATE.format(self.hub.entry.entry_id),
                self.async_write_ha_state,
            )
        )

    async def async_require_admin(self) -> None:
        """Refuse a user who is not an admin: this control decides who joins and who is believed.

        HA lets every user control every entity; these change what only an admin may
        (the entry's options, the approval of devices). Without a user (HA itself, an
        automation an admin wrote) the change goes through, unless the entity is
        exposed to Assist: a satellite's voice and the agent's tools in its turn carry
        no user either, so anyone speaking to a satellite would be taken for HA.
        """
        context = self._context
        if context is None or context.user_id is None:
            if self._exposed_to_assist():
                error = Unauthorized(
                    context=context, entity_id=self.entity_id, permission=POLICY_CONTROL
                )
                if INTENT_ERRORS_UNREAD:
                    self._read_in_intent_calls(error)
                raise error
            return
        user = await self.hass.auth.async_get_user(context.user_id)
        if user is None or not user.is_admin:
            raise Unauthorized(
                context=context,
                user_id=context.user_id,
                entity_id=self.entity_id,
                permission=POLICY_CONTROL,
            )

    def _read_in_intent_calls(self, error: Unauthorized) -> None:
        """Read the refusal in HA's intent call that it ends, and say so."""
        # HA does not say which of its intent calls runs this one: each reads its own.
        calls = [
            task
            for task in asyncio.all_tasks()
            if task.get_name().startswith(INTENT_CALL_TASK)
        ]
        if not calls:
            return
        _LOGGER.warning(
            "Refused Assist's call on %s: a voice or an LLM's tool carries no user,"
            " and only an admin may change it (this HA answers that it was done)",
            self.entity_id,
        )
        for call in calls:
            call.add_done_callback(partial(read_if_ours, error))

    def _exposed_to_assist(self) -> bool:
        try:
            return async_should_expose(self.hass, "conversation", self.entity_id)
        except KeyError:  # HA's exposure settings are not loaded: Assist has nothing
            return False


def read_if_ours(error: Unauthorized, task: asyncio.Task[Any]) -> None:
    """Read an intent call's error if it is our refusal; report another's as the loop would."""
    if task.cancelled():
        return
    exception = task.exception()
    if exception is None or exception is error:
        return
    task.get_loop().call_exception_handler(
        {
            "message": "Task exception was never retrieved",
            "exception": exception,
            "future": task,
        }
    )
