"""Announcements: a message (or media) on media players, as play_media with announce: true."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import contextlib
from dataclasses import dataclass
from typing import Any

from homeassistant.components import tts
from homeassistant.components.media_player.const import (
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_EXTRA,
    MediaPlayerEntityFeature,
)
from homeassistant.const import ATTR_ENTITY_ID, ATTR_SUPPORTED_FEATURES
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)

from .bus.envelope import Envelope
from .bus.errors import ProtocolError
from .bus.speaker import AnnounceRequest
from .bus.text import excerpt
from .bus.voice_route import is_voice_server
from .bus_link import BusLink
from .const import CONF_ANNOUNCE_TTS, CONF_ANNOUNCE_VOLUME, DOMAIN
from .context import HubContext
from .device import AliciaDevice
from .device_registry import find_device
from .ha_commands import NO_KEY, Refused, exposed, is_ha_address
from .media_urls import async_unfetchable

MEDIA_PLAYER = "media_player"
# The capability of a device that asks for announcements (docs/protocol.md).
ANNOUNCER = "announce"


@dataclass(slots=True)
class Announcement:
    """What to say or play, and how."""

    message: str | None = None
    media_url: str | None = None
    language: str | None = None
    volume: float | None = None
    tts_entity: str | None = None


@dataclass(slots=True)
class Target:
    """Where: HA entities, devices and areas, or an alicia device id or location."""

    entity_ids: tuple[str, ...] = ()
    device_ids: tuple[str, ...] = ()
    area_ids: tuple[str, ...] = ()
    alicia_device: str | None = None
    location: str | None = None


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    # A device's request fills these too: its values come back bounded.
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={k: excerpt(v, 128) for k, v in placeholders.items()},
    )


def _players_in_areas(hass: HomeAssistant, area_ids: Iterable[str]) -> set[str]:
    wanted = set(area_ids)
    entities, devices = er.async_get(hass), dr.async_get(hass)
    found = set()
    for entry in entities.entities.values():
        if entry.domain != MEDIA_PLAYER:
            continue
        area = entry.area_id
        if (
            area is None
            and entry.device_id
            and (device := devices.async_get(entry.device_id)) is not None
        ):
            area = device.area_id
        if area in wanted:
            found.add(entry.entity_id)
    return found


def _area_for_location(hass: HomeAssistant, location: str) -> str | None:
    areas = ar.async_get(hass)
    name = location.replace("_", " ").strip()
    area = areas.async_get_area(location) or areas.async_get_area_by_name(name)
    return area.id if area else None


def resolve_players(hass: HomeAssistant, entry_id: str, target: Target) -> list[str]:
    """The media players a target means; ServiceValidationError when it means none."""
    players = {e for e in target.entity_ids if e.startswith(f"{MEDIA_PLAYER}.")}
    entities = er.async_get(hass)
    for device_id in target.device_ids:
        players |= {
            e.entity_id
            for e in er.async_entries_for_device(entities, device_id)
            if e.domain == MEDIA_PLAYER
        }
    areas = set(target.area_ids)
    if target.location:
        if (area := _area_for_location(hass, target.location)) is None:
            raise _error("unknown_location", location=target.location)
        areas.add(area)
    if target.alicia_device:
        device = find_device(hass, entry_id, target.alicia_device)
        if device is None:
            raise _error("unknown_device", device_id=target.alicia_device)
        if device.area_id:
            areas.add(device.area_id)
    players |= _players_in_areas(hass, areas)
    players = {p for p in players if hass.states.get(p) is not None}
    if not players:
        raise _error("no_media_player")
    return sorted(players)


def default_tts_engine(hass: HomeAssistant, preferred: str | None) -> str:
    """The announcement's TTS: the option, else the add-on's Wyoming TTS, else HA's default."""
    if preferred and hass.states.get(preferred) is not None:
        return preferred
    for entry in er.async_get(hass).entities.values():
        if (
            entry.domain == "tts"
            and entry.platform == "wyoming"
            and hass.states.get(entry.entity_id) is not None
        ):
            return entry.entity_id
    # tts.async_default_engine needs the tts component loaded.
    if (
        "tts" not in hass.config.components
        or (engine := tts.async_default_engine(hass)) is None
    ):
        raise _error("no_tts")
    return engine


async def async_announce(
    hass: HomeAssistant,
    players: list[str],
    announcement: Announcement,
    options: Mapping[str, Any],
    context: Context | None = None,
) -> list[str]:
    """Play on each player; announce (duck and restore) where the player supports it.

    context: the caller's, so HA checks that user's control of each player.
    """
    default_tts = options.get(CONF_ANNOUNCE_TTS)
    volume = announcement.volume
    if volume is None:
        volume = options.get(CONF_ANNOUNCE_VOLUME)
    if announcement.media_url:
        media_id = announcement.media_url
    elif announcement.message:
        engine = default_tts_engine(hass, announcement.tts_entity or default_tts)
        try:
            media_id = tts.generate_media_source_id(
                hass,
                announcement.message,
                engine=engine,
                language=announcement.language,
            )
        except HomeAssistantError as err:
            raise _error("tts_failed", error=str(err)) from err
    else:
        raise _error("nothing_to_say")
    for player in players:
        state = hass.states.get(player)
        features = int(state.attributes.get(ATTR_SUPPORTED_FEATURES, 0)) if state else 0
        data: dict[str, Any] = {
            ATTR_ENTITY_ID: player,
            "media_content_id": media_id,
            "media_content_type": "music",
        }
        if features & MediaPlayerEntityFeature.MEDIA_ANNOUNCE:
            data[ATTR_MEDIA_ANNOUNCE] = True
        if volume is not None:
            # extra.volume is read by Sonos, in percent (0 to 100).
            data[ATTR_MEDIA_EXTRA] = {"volume": round(volume * 100)}
        await hass.services.async_call(
            MEDIA_PLAYER, "play_media", data, blocking=True, context=context
        )
    return players


def may_announce(device: AliciaDevice) -> bool:
    """A device that announces (its `announce` capability), or a voice server (the app's bridge)."""
    names = {c.name for c in device.record.capabilities}
    return ANNOUNCER in names or is_voice_server(device.record.device_type, names)


def _announces_itself(device: AliciaDevice) -> bool:
    return ANNOUNCER in {c.name for c in device.record.capabilities}


def _for_its_requester(hub: HubContext, route: str, request: AnnounceRequest) -> None:
    """A voice route speaks a requester's answer with the requester's authority, no more.

    Its announcement names the device that asked, and nothing else, and that device
    must be approved and one that may announce itself: otherwise anyone whose audio
    reaches the route (a sensor, a guest) would announce through it.
    """
    asker = request.device_id and hub.devices.get(request.device_id)
    if (
        request.entity_id or request.area or request.location
        or not asker or not _announces_itself(asker)
    ):  # fmt: skip
        raise Refused(
            f"{route} announces only for the approved device that asked, and only "
            f"if it may announce: not for {excerpt(request.device_id)}"
        )


def _exposed_players(hass: HomeAssistant, players: Iterable[str]) -> list[str]:
    """The players exposed to Assist: a device gets no more than ha/command would give it."""
    kept = []
    for player in players:
        with contextlib.suppress(Refused):
            kept.append(exposed(hass, player, MEDIA_PLAYER))
    return kept


async def async_announce_request(
    hub: HubContext, link: BusLink, read: Envelope
) -> None:
    """A device asked for an announcement: play it; answer played or failed, and why."""
    reply = read.reply_to or f"{hub.prefix}/devices/speakers/announce/response"
    hass = hub.hass
    try:
        if (device := hub.devices.get(read.source)) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_approved",
                translation_placeholders={"device_id": read.source},
            )
        if not hub.may_act(read.source):
            raise Refused(NO_KEY.format(read.source))
        if not may_announce(device):
            raise Refused(
                f"{read.source} may not announce: only a device with the announce "
                "capability or a voice route (stt and ai) may"
            )
        request = AnnounceRequest.parse(read.payload)
        if request.media_url is not None and is_ha_address(hass, request.media_url):
            raise Refused(
                "media_url: Home Assistant's own addresses are not played for "
                "devices (Home Assistant would sign them)"
            )
        if request.media_url is not None and (
            why := await async_unfetchable(hass, request.media_url)
        ):
            raise Refused(
                f"media_url: {why}: only public addresses are played for devices"
            )
        if not _announces_itself(device):
            _for_its_requester(hub, read.source, request)
        # A player it names must be one Assist may use; of an area's, only those.
        named = request.entity_id and exposed(hass, request.entity_id, MEDIA_PLAYER)
        target = Target(
            entity_ids=tuple(filter(None, [named])),
            area_ids=tuple(filter(None, [request.area])),
            alicia_device=request.device_id,
            location=request.location,
        )
        players = resolve_players(hass, hub.entry.entry_id, target)
        if not (players := _exposed_players(hass, players)):
            raise Refused("no media player exposed to Assist is there")
        announcement = Announcement(
            message=request.message,
            media_url=request.media_url,
            language=request.language,
            volume=request.volume,
        )
        played = await async_announce(hass, players, announcement, hub.entry.options)
        answer: dict[str, Any] = {"status": "played", "players": played}
        text = request.message or request.media_url
        hub.fire("announcement_played", read.source, message=text, players=played)
    except (Refused, ProtocolError) as err:
        code = err.code if isinstance(err, ProtocolError) else "refused"
        answer = {"status": "failed", "error": {"code": code, "message": str(err)}}
    except HomeAssistantError as err:
        message = str(err) or (err.translation_key or "failed")
        answer = {"status": "failed", "error": {"code": "failed", "message": message}}
    await link.async_respond(reply, read, answer)
