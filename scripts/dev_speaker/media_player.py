"""The development speaker: accepts announcements, fetches their audio, shows what it played.

scripts/develop links this folder into its HA config as a custom integration, so
`alicia.announce` and the bus's announce requests have a real player to play on.
Every clip is saved as `last-announcement.*` in the folder the YAML names.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from homeassistant.components import media_source
from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
    async_process_play_media_url,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

_LOGGER = logging.getLogger(__name__)
# How long "playing" shows: a rough length from the clip's size (WAV of 16-bit mono
# 22.05 kHz speech; an MP3 is far smaller and shows the one-second minimum).
BYTES_PER_SECOND = 44100


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """One speaker; `record_dir` is where the clips go."""
    async_add_entities([DevSpeaker(Path(config.get("record_dir", hass.config.path())))])


class DevSpeaker(MediaPlayerEntity):
    """Plays (fetches) media, announces, and reports what it played."""

    _attr_name = "Development speaker"
    _attr_unique_id = "alicia_dev_speaker"
    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY_MEDIA
        | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
        | MediaPlayerEntityFeature.VOLUME_SET
    )
    _attr_state = MediaPlayerState.IDLE
    _attr_volume_level = 0.5

    def __init__(self, record_dir: Path) -> None:
        """Clips are saved in record_dir."""
        self._record_dir = record_dir
        self._attr_extra_state_attributes: dict[str, Any] = {"played": 0}

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Fetch the audio (a TTS message or any media), as a network speaker would."""
        url = media_id
        if media_source.is_media_source_id(media_id):
            item = await media_source.async_resolve_media(
                self.hass, media_id, self.entity_id
            )
            url = item.url
        url = async_process_play_media_url(self.hass, url)
        async with async_get_clientsession(self.hass).get(url) as response:
            response.raise_for_status()
            audio = await response.read()
            suffix = "." + (response.content_type.split("/")[-1] or "bin").replace(
                "mpeg", "mp3"
            )
        path = self._record_dir / f"last-announcement{suffix}"
        await self.hass.async_add_executor_job(path.write_bytes, audio)
        played = int(self._attr_extra_state_attributes["played"]) + 1
        self._attr_extra_state_attributes = {
            "played": played, "announce": bool(kwargs.get("announce")),
            "bytes": len(audio), "file": str(path),
        }  # fmt: skip
        self._attr_media_content_id = media_id
        self._attr_media_content_type = MediaType.MUSIC
        self._attr_state = MediaPlayerState.PLAYING
        self.async_write_ha_state()
        _LOGGER.info("Played %s (%d bytes), saved as %s", media_id, len(audio), path)
        async_call_later(self.hass, max(1.0, len(audio) / BYTES_PER_SECOND), self._done)

    @callback
    def _done(self, _now: Any) -> None:
        self._attr_state = MediaPlayerState.IDLE
        self.async_write_ha_state()

    async def async_set_volume_level(self, volume: float) -> None:
        """Remember the volume."""
        self._attr_volume_level = volume
        self.async_write_ha_state()
