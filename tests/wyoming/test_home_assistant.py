"""Home Assistant's own wyoming integration, as the client of our running server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
import io
import wave

from homeassistant.components import stt, tts, wake_word
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.conftest import ServerProcess

from .client import host_port
from .phrases import normalize
from .test_wake import said

pytestmark = pytest.mark.slow


@pytest.fixture
async def wyoming_entry(
    hass: HomeAssistant, wyoming_server: ServerProcess
) -> MockConfigEntry:
    host, port = host_port(wyoming_server.uri)
    assert await async_setup_component(hass, "homeassistant", {})
    entry = MockConfigEntry(
        domain="wyoming", data={"host": host, "port": port}, title="Alicia"
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def entity_of(hass: HomeAssistant, entry: MockConfigEntry, domain: str) -> str:
    entities = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == domain
    ]
    assert len(entities) == 1, entities
    return entities[0]


async def speak(hass: HomeAssistant, engine: str, text: str, streamed: bool) -> bytes:
    """TTS through HA's tts manager, converted by HA (ffmpeg) to 16 kHz mono WAV."""
    stream = tts.async_create_stream(
        hass,
        engine,
        language="en_US",
        options={
            tts.ATTR_PREFERRED_FORMAT: "wav",
            tts.ATTR_PREFERRED_SAMPLE_RATE: 16000,
            tts.ATTR_PREFERRED_SAMPLE_CHANNELS: 1,
            tts.ATTR_PREFERRED_SAMPLE_BYTES: 2,
        },
    )
    if streamed:

        async def pieces() -> AsyncGenerator[str]:
            for index in range(0, len(text), 5):
                yield text[index : index + 5]

        stream.async_set_message_stream(pieces())
    else:
        stream.async_set_message(text)
    return b"".join([chunk async for chunk in stream.async_stream_result()])


@pytest.mark.parametrize("streamed", [False, True])
async def test_tts_then_stt_through_home_assistant(
    hass: HomeAssistant,
    socket_enabled: None,
    wyoming_entry: MockConfigEntry,
    streamed: bool,
) -> None:
    tts_entity = entity_of(hass, wyoming_entry, "tts")
    stt_entity_id = entity_of(hass, wyoming_entry, "stt")

    wav_bytes = await speak(
        hass, tts_entity, "Close the blinds in the office.", streamed
    )
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (
            16000,
            1,
            2,
        )
        pcm = wav.readframes(wav.getnframes())
    assert len(pcm) > 16000  # more than half a second of speech

    entity = stt.async_get_speech_to_text_entity(hass, stt_entity_id)
    assert entity is not None
    assert "en" in entity.supported_languages

    async def audio() -> AsyncIterator[bytes]:
        yield bytes(16000 * 2 // 4)  # a moment of quiet first, as from a microphone
        for offset in range(0, len(pcm), 2048):
            yield pcm[offset : offset + 2048]

    metadata = stt.SpeechMetadata(
        language="en",
        format=stt.AudioFormats.WAV,
        codec=stt.AudioCodecs.PCM,
        bit_rate=stt.AudioBitRates.BITRATE_16,
        sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
        channel=stt.AudioChannels.CHANNEL_MONO,
    )
    result = await entity.async_process_audio_stream(metadata, audio())
    assert result.result is stt.SpeechResultState.SUCCESS
    assert normalize(result.text or "") == normalize("close the blinds in the office")

    assert await hass.config_entries.async_unload(wyoming_entry.entry_id)


async def test_wake_word_through_home_assistant(
    hass: HomeAssistant, socket_enabled: None, wyoming_entry: MockConfigEntry
) -> None:
    """HA's wake-word entity of the same entry lists the words and hears the chosen one."""
    entity = wake_word.async_get_wake_word_detection_entity(
        hass, entity_of(hass, wyoming_entry, "wake_word")
    )
    assert entity is not None
    offered = {word.id: word.phrase for word in await entity.get_supported_wake_words()}
    assert offered["okay_nabu"] == "Okay Nabu"
    assert set(offered) == {"alexa", "hey_jarvis", "hey_mycroft", "okay_nabu"}
    pcm = said("flite-awb", "Okay Nabu")

    async def audio() -> AsyncIterator[tuple[bytes, int]]:
        # 20 ms chunks with their time, in real time as a satellite streams them:
        # HA stops listening for a detection when the stream ends.
        for offset in range(0, len(pcm), 640):
            yield pcm[offset : offset + 640], offset // 32
            await asyncio.sleep(0.02)

    result = await entity.async_process_audio_stream(audio(), "okay_nabu")
    assert result is not None
    assert result.wake_word_id == "okay_nabu"
    assert result.wake_word_phrase == "Okay Nabu"
    missed = await entity.async_process_audio_stream(
        (chunk async for chunk in _quiet(pcm)), "okay_nabu"
    )
    assert missed is None


async def _quiet(pcm: bytes) -> AsyncIterator[tuple[bytes, int]]:
    """As long as the clip, silent: nothing to wake on."""
    for offset in range(0, len(pcm), 640):
        yield bytes(640), offset // 32
