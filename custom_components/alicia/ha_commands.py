"""alicia/integration/ha/command: devices on the bus call HA actions, only from an allow-list."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import ATTR_ENTITY_ID, MAX_LENGTH_STATE_ENTITY_ID
from homeassistant.core import VALID_ENTITY_ID, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.network import is_hass_url
import voluptuous as vol

from .bus.envelope import Envelope
from .bus.errors import ProtocolError
from .bus.home import CommandAnswer, HaCommand, is_action
from .bus.text import excerpt
from .bus_link import BusLink
from .const import CONF_ALLOWED_ACTIONS, DOMAIN
from .context import HubContext
from .media_urls import async_unfetchable, internal_host, is_address
from .tally import Tally

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
# Domains whose actions run code, restart or reconfigure HA, or act for Alicia itself:
# never run for a device, even if an older allow-list names one (docs/integration.md).
DANGEROUS_DOMAINS = frozenset(
    {"alicia", "homeassistant", "hassio", "shell_command", "python_script", "pyscript",
     "backup", "recorder", "system_log", "logger", "update"}
)  # fmt: skip
CALL_TIMEOUT = 10.0
# Addresses one command's data may name: each is resolved on HA's executor.
MAX_URLS = 4
NO_KEY = (
    "{} was approved without a key: a device acts on the home only with its key "
    "(or with security off)"
)


class Refused(Exception):
    """A command Alicia will not run; the text goes back to the device."""


def _as_ha_reads(value: Any) -> Any:
    """An action or entity id as HA will act on it: HA lower-cases both."""
    return value.lower() if isinstance(value, str) else value


def ha_entity_id(spelled: str) -> str | None:
    """The entity id HA acts on for a device's spelling; None where HA would not act."""
    entity_id: str = _as_ha_reads(spelled)
    # HA's own rule, whole: its "$" (HA 2026.2) lets a trailing newline through.
    if (
        len(entity_id) > MAX_LENGTH_STATE_ENTITY_ID
        or VALID_ENTITY_ID.fullmatch(entity_id) is None
    ):
        return None
    return entity_id


def check(
    hass: HomeAssistant, payload: dict[str, Any], allowed: tuple[str, ...]
) -> HaCommand:
    """The command, if allowed and aimed only at entities exposed to Assist; Refused otherwise."""
    action = _as_ha_reads(payload.get("action"))
    if is_action(action) and (
        action not in allowed or action.split(".")[0] in DANGEROUS_DOMAINS
    ):
        # Said first: whatever else is wrong, this action will not run.
        safe = [a for a in allowed if a.split(".")[0] not in DANGEROUS_DOMAINS]
        raise Refused(f"action {action} is not allowed (allowed: {', '.join(safe)})")
    try:
        command = HaCommand.parse({**payload, "action": action})
    except ProtocolError as err:
        raise Refused(str(err)) from err
    entity_ids = [
        exposed(hass, spelled, command.domain) for spelled in command.entity_ids
    ]
    for text in _texts(command.data):
        if is_ha_address(hass, text):
            raise Refused(
                f"{excerpt(text)}: Home Assistant's own addresses are not for devices"
            )
        # A player such as ESPHome's fetches the media from HA's host (play_media,
        # where the user allowed it): a device's address there is HA's request.
        if is_address(text) and (host := internal_host(text)) is not None:
            raise Refused(
                f"{host}: an address on Home Assistant's host or network is not "
                "for devices"
            )
    return replace(command, entity_ids=tuple(entity_ids))


async def async_check_resolved(hass: HomeAssistant, command: HaCommand) -> None:
    """Refused if a URL in the data names a host that resolves to HA's host or network, or not at all."""
    urls = [text for text in _texts(command.data) if is_address(text)]
    if len(urls) > MAX_URLS:
        raise Refused(f"{len(urls)} addresses in one command (at most {MAX_URLS})")
    # At once, under each one's timeout: one at a time, a command of slow names
    # held HA's executor threads for their sum.
    reasons = await asyncio.gather(*(async_unfetchable(hass, url) for url in urls))
    if why := next((reason for reason in reasons if reason), None):
        raise Refused(f"{why}: only public addresses are for devices")


def is_ha_address(hass: HomeAssistant, text: str) -> bool:
    """Whether HA would take the text for its own media and sign it for whoever plays it.

    A signed address reads HA's API as its content user (every state, cameras), and
    a player such as Alicia's speaker sends it to the device.
    """
    if text.startswith(("/", "media-source:")):
        return True
    try:
        return is_hass_url(hass, text)
    except (ValueError, IndexError):  # yarl 1.25: IndexError for "http://[::1]@/"
        return True  # not an address HA can read: not one to pass on either


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def is_hub_control(hass: HomeAssistant, entity_id: str) -> bool:
    """Whether the entity is on an Alicia entry's own hub device (permit switch, security mode...)."""
    entity = er.async_get(hass).async_get(entity_id)
    if entity is None or entity.device_id is None:
        return False
    device = dr.async_get(hass).async_get(entity.device_id)
    if device is None:
        return False
    hubs = {
        (DOMAIN, entry.entry_id) for entry in hass.config_entries.async_entries(DOMAIN)
    }
    return not hubs.isdisjoint(device.identifiers)


def exposed(hass: HomeAssistant, spelled: str, domain: str) -> str:
    """The id HA acts on for a device's spelling, if a domain entity exposed to Assist; Refused otherwise."""
    # Exposure is looked up for the very id HA will act on: "light.Vault" is light.vault.
    if (entity_id := ha_entity_id(spelled)) is None:
        raise Refused(f"{excerpt(spelled)} is not an entity id")
    if not entity_id.startswith(f"{domain}."):
        raise Refused(f"{entity_id} is not a {domain} entity")
    # One answer for missing and hidden: a device learns nothing of what Assist may not see.
    if hass.states.get(entity_id) is None or not async_should_expose(
        hass, "conversation", entity_id
    ):
        raise Refused(f"{entity_id} is no {domain} entity exposed to Assist")
    # Exposing "all switches" exposes the permit switch too: a device that could
    # turn it on (or lower the security mode) would approve the next stranger.
    if is_hub_control(hass, entity_id):
        raise Refused(f"{entity_id} controls Alicia itself: devices may not use it")
    return entity_id


async def run(hass: HomeAssistant, command: HaCommand) -> None:
    """Call the action, bounded in time."""
    domain, service = command.action.split(".")
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            await hass.services.async_call(
                domain,
                service,
                {**command.data, ATTR_ENTITY_ID: list(command.entity_ids)},
                blocking=True,
            )
    except TimeoutError as err:
        raise Refused(
            f"{command.action} did not finish within {CALL_TIMEOUT:g} s"
        ) from err
    except (HomeAssistantError, ValueError, vol.Invalid) as err:
        # HA's reasons may quote what the device sent (a data key of any length).
        raise Refused(f"{command.action} failed: {excerpt(str(err), 200)}") from err


async def async_handle_command(
    hub: HubContext, link: BusLink, tally: Tally, read: Envelope
) -> None:
    """Run an allowed HA action for an approved device; answer done or refused, and why."""
    reply = read.reply_to or f"{hub.prefix}/integration/ha/command/response"
    allowed = tuple(hub.entry.options.get(CONF_ALLOWED_ACTIONS, DEFAULT_ALLOWED))
    try:
        if read.source not in hub.devices:
            raise Refused(f"{read.source} is not an approved device")
        if hub.disabled(read.source):
            raise Refused(f"{read.source} is disabled in Home Assistant")
        if not hub.may_act(read.source):
            raise Refused(NO_KEY.format(read.source))
        command = check(hub.hass, read.payload, allowed)
        await async_check_resolved(hub.hass, command)
        await run(hub.hass, command)
        answer = CommandAnswer("done")
    except Refused as err:
        tally.counters.commands_refused += 1
        tally.log_limited(
            "ha_command", "Refused HA command from %s: %s", read.source, err
        )
        answer = CommandAnswer("refused", str(err))
    await link.async_respond(reply, read, answer.to_payload())
