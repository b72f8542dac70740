"""Media players: Alicia speakers (type `speaker`, or the audio_playback capability)."""

from __future__ import annotations

from typing import Any

from homeassistant.components import media_source
from homeassistant.components.media_player import (
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_EXTRA,
    BrowseMedia,
    MediaPlayerDeviceClass,
    MediaPlayerEntity,
    MediaPlayerEntityDescription,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
    async_process_play_media_url,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bus.errors import ProtocolError
from .bus.speaker import PLAYBACK, VOLUMES, Action, Playback, PlaybackCommand, State
from .bus.text import excerpt
from .capabilities import Capability, span
from .const import DOMAIN
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform

PARALLEL_UPDATES = 1

# Not a capability's name: the player stays while the speaker changes its capabilities.
KEY = "speaker"
DESCRIPTION = MediaPlayerEntityDescription(
    key=KEY, name=None, device_class=MediaPlayerDeviceClass.SPEAKER
)
PLAYING = (
    MediaPlayerEntityFeature.PLAY_MEDIA
    | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
    | MediaPlayerEntityFeature.BROWSE_MEDIA
    | MediaPlayerEntityFeature.PAUSE
    | MediaPlayerEntityFeature.PLAY
    | MediaPlayerEntityFeature.STOP
    | MediaPlayerEntityFeature.VOLUME_MUTE
)
VOLUME = MediaPlayerEntityFeature.VOLUME_SET | MediaPlayerEntityFeature.VOLUME_STEP
STATES = {
    State.IDLE: MediaPlayerState.IDLE,
    State.PLAYING: MediaPlayerState.PLAYING,
    State.PAUSED: MediaPlayerState.PAUSED,
}


def volume_capability(record: DeviceRecord) -> Capability | None:
    """The capability that holds a speaker's volume, if it has one."""
    return next((c for c in record.capabilities if c.name in VOLUMES), None)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A media player for each speaker, as speakers are approved."""

    def speaker(hub: AliciaHub, record: DeviceRecord) -> list[Entity]:
        if record.plays_audio:
            return [AliciaSpeaker(hub, record)]
        # Registered again as something that is no speaker: its player goes.
        registry = er.async_get(hass)
        unique_id = f"{record.device_id}_{KEY}"
        if old := registry.async_get_entity_id(
            Platform.MEDIA_PLAYER, DOMAIN, unique_id
        ):
            registry.async_remove(old)
        return []

    # Not a capability's table: a speaker is its device type or audio_playback.
    setup_platform(
        hass,
        entry.runtime_data,
        async_add_entities,
        (),
        lambda *_: None,
        extra=speaker,
    )


def _number(value: Any) -> float | None:
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None
    )


class AliciaSpeaker(AliciaEntity, MediaPlayerEntity):
    """A speaker: its playback, mute and volume as it reports them; commands on its topic."""

    def __init__(self, hub: AliciaHub, record: DeviceRecord) -> None:
        """The device's media player."""
        super().__init__(hub, record, KEY, DESCRIPTION)

    @property
    def _volume(self) -> Capability | None:
        device = self.hub.roster.devices.get(self.device_id)
        return volume_capability(device.record) if device is not None else None

    def _value(self, key: str) -> Any:
        device = self.hub.roster.devices.get(self.device_id)
        return device.values.get(key) if device is not None else None

    def _range(self, capability: Capability) -> tuple[float, float]:
        return span(capability.parameters, ("min", "max"), (0.0, 100.0))

    @property
    def supported_features(self) -> MediaPlayerEntityFeature:
        """Volume only when the speaker has a volume capability (it may register one later)."""
        return PLAYING | VOLUME if self._volume is not None else PLAYING

    @property
    def _playback(self) -> Playback:
        return Playback.read(self._value(PLAYBACK))

    @property
    def state(self) -> MediaPlayerState | None:
        """As reported; unknown until the speaker says."""
        state = self._playback.state
        return STATES[state] if state is not None else None

    @property
    def is_volume_muted(self) -> bool | None:
        """As reported."""
        return self._playback.muted

    @property
    def media_content_id(self) -> str | None:
        """What it says it plays."""
        return self._playback.media_url

    @property
    def volume_level(self) -> float | None:
        """The volume capability's value, from its min to max as 0 to 1."""
        if (capability := self._volume) is None:
            return None
        if (value := _number(self._value(capability.name))) is None:
            return None
        low, high = self._range(capability)
        return min(1.0, max(0.0, (value - low) / (high - low)))

    async def async_set_volume_level(self, volume: float) -> None:
        """The volume capability's `set`, on its own scale."""
        if (capability := self._volume) is None:
            return
        low, high = self._range(capability)
        value = round(low + volume * (high - low), 2)
        await self.send(capability.name, "set", {"value": value})

    async def _send(self, command: PlaybackCommand) -> None:
        await self.send(PLAYBACK, command.action, command.params)

    async def async_mute_volume(self, mute: bool) -> None:
        """Mute or unmute."""
        await self._send(PlaybackCommand(Action.MUTE, muted=mute))

    async def async_media_pause(self) -> None:
        """Pause."""
        await self._send(PlaybackCommand(Action.PAUSE))

    async def async_media_play(self) -> None:
        """Resume."""
        await self._send(PlaybackCommand(Action.RESUME))

    async def async_media_stop(self) -> None:
        """Stop."""
        await self._send(PlaybackCommand(Action.STOP))

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Send the speaker an address it can fetch: media sources resolved, HA's own URLs signed."""
        if media_source.is_media_source_id(media_id):
            resolved = await media_source.async_resolve_media(
                self.hass, media_id, self.entity_id
            )
            media_id = resolved.url
        url = async_process_play_media_url(self.hass, media_id)
        # extra.volume is in percent, as Sonos reads it (announce.py sends it so).
        volume = _number((kwargs.get(ATTR_MEDIA_EXTRA) or {}).get("volume"))
        try:
            command = PlaybackCommand.play_media(
                url,
                announce=bool(kwargs.get(ATTR_MEDIA_ANNOUNCE)),
                volume=None if volume is None else min(1.0, max(0.0, volume / 100)),
            )
        except ProtocolError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unplayable_media",
                translation_placeholders={"media": excerpt(media_id, 128)},
            ) from err
        await self._send(command)

    async def async_browse_media(
        self,
        media_content_type: MediaType | str | None = None,
        media_content_id: str | None = None,
    ) -> BrowseMedia:
        """HA's media sources, audio only."""
        return await media_source.async_browse_media(
            self.hass,
            media_content_id,
            content_filter=lambda item: item.media_content_type.startswith("audio/"),
        )
