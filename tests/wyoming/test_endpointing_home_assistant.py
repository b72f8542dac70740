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
    sent = 0

    async def satellite() -> AsyncIterator[bytes]:
        """The command, then quiet for as long as nobody stops it, at 1.5x real time."""
        nonlocal sent
        audio = pcm + bytes(int(QUIET_SECONDS * RATE) * 2)
        began = time.perf_counter()
        for offset in range(0, len(audio), CHUNK):
            yield audio[offset : offset + CHUNK]
            sent = offset + CHUNK
            await asyncio.sleep(
                max(0.0, began + sent / 2 / RATE / 1.5 - time.perf_counter())
            )

    metadata = stt.SpeechMetadata(
        language="en", format=stt.AudioFormats.WAV, codec=stt.AudioCodecs.PCM,
        bit_rate=stt.AudioBitRates.BITRATE_16, sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
        channel=stt.AudioChannels.CHANNEL_MONO,
    )  # fmt: skip
    result = await stt_entity.async_process_audio_stream(metadata, satellite())
    assert result.result is stt.SpeechResultState.SUCCESS
    assert normalize(result.text or "") == normalize("open the garage door")
    if processing is not None:
        # Answered within the first half of the quiet: the server ended the turn.
        assert sent < len(pcm) + QUIET_SECONDS / 2 * RATE * 2


def _at_16k(clip: TtsAudio) -> bytes:
    """Half a second of quiet, then the speech only, at 16 kHz."""
    return bytes(RATE // 2) + as_format(trimmed(clip.pcm), clip.rate, RATE, 1)
