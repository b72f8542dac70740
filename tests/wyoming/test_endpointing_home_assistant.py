"""HA's own wyoming client: our server says it ends the turn itself, and does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import time

from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from tests.conftest import ServerProcess
from tests.ha_wyoming import wyoming_entities

from .client import TtsAudio
from .clips import as_format, trimmed
from .live import paused_command
from .phrases import normalize

pytestmark = pytest.mark.slow
RATE = 16000
CHUNK = 640  # 20 ms of 16-bit mono, as a satellite sends
QUIET_SECONDS = 12.0


@pytest.fixture
async def stt_entity(
    hass: HomeAssistant, wyoming_server: ServerProcess
) -> stt.SpeechToTextEntity:
    assert await async_setup_component(hass, "homeassistant", {})
    entity_id = (await wyoming_entities(hass, wyoming_server.uri))["stt"]
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    return entity


METADATA = stt.SpeechMetadata(
    language="en", format=stt.AudioFormats.WAV, codec=stt.AudioCodecs.PCM,
    bit_rate=stt.AudioBitRates.BITRATE_16, sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
    channel=stt.AudioChannels.CHANNEL_MONO,
)  # fmt: skip


class Satellite:
    """Audio as a satellite streams it, at 1.5x real time, for as long as HA reads it."""

    def __init__(self, audio: bytes) -> None:
        """The whole recording; nothing sent yet."""
        self.audio = audio
        self.sent = 0

    async def stream(self) -> AsyncIterator[bytes]:
        """The chunks, each when its time has come."""
        began = time.perf_counter()
        for offset in range(0, len(self.audio), CHUNK):
            yield self.audio[offset : offset + CHUNK]
            self.sent = offset + CHUNK
            await asyncio.sleep(
                max(0.0, began + self.sent / 2 / RATE / 1.5 - time.perf_counter())
            )


async def test_the_server_ends_the_turn_where_ha_runs_no_vad(
    hass: HomeAssistant,
    socket_enabled: None,
    stt_entity: stt.SpeechToTextEntity,
    spoken: dict[str, TtsAudio],
) -> None:
    clip = spoken["Open the garage door."]
    processing = getattr(stt_entity, "audio_processing", None)
    if processing is not None:  # HA 2026.3 and later read it from our describe
        assert processing.requires_external_vad is False
    pcm = await hass.async_add_executor_job(_at_16k, clip)
    satellite = Satellite(pcm + bytes(int(QUIET_SECONDS * RATE) * 2))
    result = await stt_entity.async_process_audio_stream(METADATA, satellite.stream())
    assert result.result is stt.SpeechResultState.SUCCESS
    assert normalize(result.text or "") == normalize("open the garage door")
    if processing is not None:
        # Answered within the first half of the quiet: the server ended the turn.
        assert satellite.sent < len(pcm) + QUIET_SECONDS / 2 * RATE * 2


async def test_a_command_with_a_long_pause_is_heard_whole(
    hass: HomeAssistant,
    socket_enabled: None,
    wyoming_server: ServerProcess,
    stt_entity: stt.SpeechToTextEntity,
) -> None:
    """ "Turn on the ... kitchen light": 0.9 s of quiet inside does not end the turn."""
    parts = ("Turn on the", "kitchen light.")
    audio = await paused_command(wyoming_server.uri, "piper", parts, 0.9)
    satellite = Satellite(audio)
    result = await stt_entity.async_process_audio_stream(METADATA, satellite.stream())
    assert result.result is stt.SpeechResultState.SUCCESS
    # Both halves are in it (tiny.en hears this voice's "Turn on the" loosely).
    heard = normalize(result.text or "")
    assert len(heard) >= 4, heard
    assert heard[-2:] == ["kitchen", "light"], heard
    if getattr(stt_entity, "audio_processing", None) is not None:
        # Ended by the server after the whole command, long before the quiet ran out.
        assert satellite.sent < len(audio) / 2


def _at_16k(clip: TtsAudio) -> bytes:
    """Half a second of quiet, then the speech only, at 16 kHz."""
    return bytes(RATE // 2) + as_format(trimmed(clip.pcm), clip.rate, RATE, 1)
