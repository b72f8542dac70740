"""alicia/integration/ha/command: devices on the bus call HA actions, only from an allow-list."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import (
    ATTR_AREA_ID,
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_FLOOR_ID,
    ATTR_LABEL_ID,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .bus.envelope import Envelope
from .const import CONF_ALLOWED_ACTIONS
from .context import HubContext

# Everyday control of exposed entities; nothing that runs code or restarts HA.
DEFAULT_ALLOWED: tuple[str, ...] = (
    "light.turn_on", "light.turn_off", "light.toggle",
    "switch.turn_on", "switch.turn_off", "switch.toggle",
    "fan.turn_on", "fan.turn_off", "fan.set_percentage",
    "cover.open_cover", "cover.close_cover", "cover.stop_cover", "cover.set_cover_position",
    "scene.turn_on",
    "media_player.volume_set", "media_player.volume_up", "media_player.volume_down",
    "media_player.media_play", "media_player.media_pause",
)  # fmt: skip
CALL_TIMEOUT = 10.0
# Every way HA's actions accept a target, in the target or in the action's data.
TARGET_KEYS = frozenset(
    {ATTR_ENTITY_ID, ATTR_DEVICE_ID, ATTR_AREA_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID}
)


class Refused(Exception):
    """A command Alicia will not run; the text goes back to the device."""


@dataclass(slots=True)
class Command:
    """A validated command."""

    action: str
    entity_ids: list[str]
    data: dict[str, Any]


def check(
    hass: HomeAssistant, payload: dict[str, Any], allowed: tuple[str, ...]
) -> Command:
    """The command, if allowed and aimed only at entities exposed to Assist; Refused otherwise."""
    action = payload.get("action")
    if not isinstance(action, str) or action.count(".") != 1:
        raise Refused('payload.action must be "domain.action"')
    if action not in allowed:
        raise Refused(f"action {action} is not allowed (allowed: {', '.join(allowed)})")
    target = payload.get("target") or {}
    if not isinstance(target, dict) or set(target) - {ATTR_ENTITY_ID}:
        # Areas, devices, floors and labels would reach entities never exposed:
        # a device names the entities themselves (it sees them on ha/state/...).
        raise Refused(
            "target may only name entity_id (areas, devices, floors and labels are refused)"
        )
    entity_ids = target.get(ATTR_ENTITY_ID)
    if isinstance(entity_ids, str):
        entity_ids = [entity_ids]
    if (
        not isinstance(entity_ids, list)
        or not entity_ids
        or not all(isinstance(e, str) for e in entity_ids)
    ):
        raise Refused("target.entity_id must name the entities to act on")
    domain = action.split(".")[0]
    for entity_id in entity_ids:
        if not entity_id.startswith(f"{domain}.") or hass.states.get(entity_id) is None:
            raise Refused(f"{entity_id} is not a {domain} entity")
        if not async_should_expose(hass, "conversation", entity_id):
            raise Refused(f"{entity_id} is not exposed to Assist")
    data = payload.get("data") or {}
    if not isinstance(data, dict) or set(data) & TARGET_KEYS:
        raise Refused(
            f"payload.data must be an object without {', '.join(sorted(TARGET_KEYS))}"
        )
    return Command(action, entity_ids, data)


async def run(hass: HomeAssistant, command: Command) -> None:
    """Call the action, bounded in time."""
    domain, service = command.action.split(".")
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            await hass.services.async_call(
                domain,
                service,
                {**command.data, ATTR_ENTITY_ID: command.entity_ids},
                blocking=True,
            )
    except TimeoutError as err:
        raise Refused(
            f"{command.action} did not finish within {CALL_TIMEOUT:g} s"
        ) from err
    except (HomeAssistantError, ValueError) as err:
        raise Refused(f"{command.action} failed: {err}") from err


async def async_handle_command(hub: HubContext, read: Envelope) -> None:
    """Run an allowed HA action for an approved device; answer done or refused, and why."""
    reply = read.reply_to or f"{hub.prefix}/integration/ha/command/response"
    allowed = tuple(hub.entry.options.get(CONF_ALLOWED_ACTIONS, DEFAULT_ALLOWED))
    try:
        if read.source not in hub.devices:
            raise Refused(f"{read.source} is not an approved device")
        await run(hub.hass, check(hub.hass, read.payload, allowed))
        answer: dict[str, Any] = {"status": "done"}
    except Refused as err:
        hub.link.counters.commands_refused += 1
        hub.link.log_limited(
            "ha_command", "Refused HA command from %s: %s", read.source, err
        )
        answer = {"status": "refused", "error": {"code": "failed", "message": str(err)}}
    await hub.link.async_respond(reply, read, answer)
