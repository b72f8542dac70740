"""A bus satellite in HA's tests: a stub STT and TTS behind HA's real pipeline, and the device's side."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
import contextlib
from dataclasses import dataclass, field
import io
import json
from typing import Any
import uuid
import wave

import aiomqtt
from homeassistant import config_entries
from homeassistant.components import assist_pipeline, conversation, stt, tts, wake_word
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_fire_mqtt_message,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.satellite import (
    SatelliteAudio,
    SatelliteRun,
    StartStage,
)
from custom_components.alicia.bus.signing import KeyPair
from tests.conftest import wait_until
from wyoming_services.sim_satellite import Fetch, SimulatedSatellite, Turn

from .helpers import message

SATELLITE: dict[str, Any] = {
    "device_id": "hall_satellite",
    "device_type": "speaker",
    "name": "Hall satellite",
    "capabilities": ["microphone", "audio_playback"],
    "metadata": {"manufacturer": "Acme", "model": "Sat-1", "location": "hall"},
    "heartbeat_interval": 30,
}
SATELLITE_KEY = KeyPair.from_seed(bytes(range(40, 72)))
# 100 ms of 16 kHz 16-bit mono silence.
CHUNK = bytes(3200)


def wav(pcm: bytes, rate: int = 16000) -> bytes:
    """PCM as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(pcm)
    return out.getvalue()


class StubStt(stt.SpeechToTextEntity):
    """Hears the whole stream, then says what it was told to."""

    _attr_name = "Stub STT"
    _attr_unique_id = "stub_stt"

    def __init__(self) -> None:
        """Nothing heard yet."""
        self.text = "turn on the lights"
        self.heard = b""

    @property
    def supported_languages(self) -> list[str]:
        """English."""
        return ["en"]

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        """WAV."""
        return [stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        """PCM."""
        return [stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        """16 bit."""
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        """16 kHz."""
        return [stt.AudioSampleRates.SAMPLERATE_16000]

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        """Mono."""
        return [stt.AudioChannels.CHANNEL_MONO]

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """The stream to its end, then the text."""
        async for chunk in stream:
            self.heard += chunk
        return stt.SpeechResult(self.text, stt.SpeechResultState.SUCCESS)


class StubTts(tts.TextToSpeechEntity):
    """A tenth of a second of silence for any text."""

    _attr_name = "Stub TTS"
    _attr_unique_id = "stub_tts"
    _attr_default_language = "en"

    def __init__(self) -> None:
        """English."""
        self._attr_supported_languages = ["en"]

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> tts.TtsAudioType:
        """WAV, at once (no executor job outliving a test)."""
        return "wav", wav(CHUNK)


class StubWake(wake_word.WakeWordDetectionEntity):
    """Hears its wake word in the first half second of any stream."""

    _attr_name = "Stub wake"
    _attr_unique_id = "stub_wake"

    async def get_supported_wake_words(self) -> list[wake_word.WakeWord]:
        """One."""
        return [wake_word.WakeWord(id="okay_stub", name="Okay Stub")]

    async def _async_process_audio_stream(
        self, stream: AsyncIterable[tuple[bytes, int]], wake_word_id: str | None
    ) -> wake_word.DetectionResult | None:
        """Detected once 500 ms have passed."""
        async for _chunk, timestamp in stream:
            if timestamp >= 500:
                return wake_word.DetectionResult("okay_stub", "okay stub", timestamp)
        return None


class StubFlow(ConfigFlow):
    """The stub engines' integration has entries (mock_config_flow registers this)."""

    VERSION = 1


async def setup_voice(hass: HomeAssistant) -> StubStt:
    """HA's Assist as default_config has it, with the stubs as its default pipeline's engines.

    Inside `mock_config_flow("stub_voice", StubFlow)`.
    """
    hass.config.internal_url = "http://10.10.10.10:8123"
    for component in ("homeassistant", "conversation", "intent"):
        assert await async_setup_component(hass, component, {})
    engine = StubStt()

    async def setup_entry(
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        add: AddConfigEntryEntitiesCallback,
    ) -> None:
        add([engine])

    async def setup_tts(
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        add: AddConfigEntryEntitiesCallback,
    ) -> None:
        add([StubTts()])

    async def setup_wake(
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        add: AddConfigEntryEntitiesCallback,
    ) -> None:
        add([StubWake()])

    async def forward(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool | None:
        await hass.config_entries.async_forward_entry_setups(
            entry, ["stt", "tts", "wake_word"]
        )
        # HA 2026.2 wants True from async_setup_entry; newer HA, None.
        return (
            None
            if hasattr(config_entries, "_async_process_entry_method_result")
            else True
        )

    mock_integration(hass, MockModule("stub_voice", async_setup_entry=forward))
    mock_platform(hass, "stub_voice.config_flow")
    mock_platform(hass, "stub_voice.stt", MockPlatform(async_setup_entry=setup_entry))
    mock_platform(hass, "stub_voice.tts", MockPlatform(async_setup_entry=setup_tts))
    mock_platform(
        hass, "stub_voice.wake_word", MockPlatform(async_setup_entry=setup_wake)
    )
    voice = MockConfigEntry(domain="stub_voice")
    voice.add_to_hass(hass)
    assert await hass.config_entries.async_setup(voice.entry_id)
    assert await async_setup_component(hass, "assist_pipeline", {})
    # The stubs, whatever else offers speech (the demo's engines, in some tests).
    await assist_pipeline.async_update_pipeline(
        hass, assist_pipeline.async_get_pipeline(hass),
        stt_engine="stt.stub_stt", stt_language="en",
        tts_engine="tts.stub_tts", tts_language="en", tts_voice=None,
        wake_word_entity="wake_word.stub_wake", wake_word_id="okay_stub",
    )  # fmt: skip
    await hass.async_block_till_done()
    return engine


async def pipelines_agent(
    hass: HomeAssistant, agent: conversation.AbstractConversationAgent
) -> None:
    """The agent of the default pipeline: the stub voice entry's."""
    entry = hass.config_entries.async_entries("stub_voice")[0]
    conversation.async_set_agent(hass, entry, agent)
    await assist_pipeline.async_update_pipeline(
        hass, assist_pipeline.async_get_pipeline(hass),
        conversation_engine=entry.entry_id, conversation_language="en",
    )  # fmt: skip


@dataclass
class BusSatellite:
    """The device's side of a satellite on HA's MQTT (mqtt_mock): what it sends, what it got."""

    hass: HomeAssistant
    mqtt: MqttMockHAClient
    device_id: str = SATELLITE["device_id"]
    key: KeyPair | None = SATELLITE_KEY
    source: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    seq: int = 0

    def topic(self, leaf: str) -> str:
        """alicia/devices/{id}/satellite/{leaf}."""
        return f"alicia/devices/{self.device_id}/satellite/{leaf}"

    def send(self, leaf: str, payload: dict[str, Any], **changes: Any) -> str:
        """Publish a message as the device (signed with its key); the text sent."""
        topic = self.topic(leaf)
        text = message(
            self.source or self.device_id, payload, key=self.key, topic=topic, **changes
        )
        async_fire_mqtt_message(self.hass, topic, text)
        return text

    def run(self, stage: StartStage = StartStage.STT) -> None:
        """Open a new run."""
        self.run_id, self.seq = uuid.uuid4().hex, 0
        self.send("run", SatelliteRun(self.run_id, stage, None).payload())

    def audio(self, pcm: bytes = CHUNK, end: bool = False) -> None:
        """The next chunk."""
        self.send("audio", SatelliteAudio(self.run_id, self.seq, pcm, end).payload())
        self.seq += 1

    def played(self, run_id: str | None = None) -> None:
        """It played what run_id named."""
        self.send("played", {"run_id": run_id or self.run_id})

    def events(self) -> list[dict[str, Any]]:
        """The payloads HA sent on satellite/event."""
        return [
            json.loads(c.args[1])["payload"]
            for c in self.mqtt.async_publish.call_args_list
            if c.args[0] == self.topic("event")
        ]

    def types(self, run_id: str | None = None) -> list[str]:
        """The types of the events of a run (default: the current one)."""
        wanted = run_id or self.run_id
        return [e["type"] for e in self.events() if e["run_id"] == wanted]


async def no_fetch(url: str) -> AsyncIterator[bytes]:
    """A satellite that plays nothing (the test does not serve HA's HTTP)."""
    nothing: tuple[bytes, ...] = ()
    for block in nothing:
        yield block


@contextlib.asynccontextmanager
async def joined(
    hass: HomeAssistant, port: int, fetch: Fetch = no_fetch, clip: bytes | None = None
) -> AsyncIterator[SimulatedSatellite]:
    """The simulated satellite on the real broker at port, in the hall: approved, HA's key pinned."""
    async with aiomqtt.Client("127.0.0.1", port) as client:
        satellite = SimulatedSatellite(client, fetch=fetch, clip=clip)

        async def listen() -> None:
            async for message in client.messages:
                satellite.take(str(message.topic), bytes(message.payload))

        listener = hass.async_create_background_task(listen(), "satellite listener")
        try:
            await satellite.start(location="hall")
            hub = hass.config_entries.async_entries("alicia")[0].runtime_data
            await wait_until(lambda: satellite.hub_key is not None)
            await wait_until(lambda: satellite.device_id in hub.satellites.listeners)
            yield satellite
        finally:
            listener.cancel()


async def spoken_turn(
    hass: HomeAssistant, port: int, fetch: Fetch = no_fetch
) -> tuple[SimulatedSatellite, Turn]:
    """The simulated satellite joins on the real broker at port and says CHUNK * 5."""
    async with joined(hass, port, fetch) as satellite:
        turn = await satellite.speak(CHUNK * 5, answer_within=20)
    return satellite, turn


async def register_signed(
    hass: HomeAssistant, document: dict[str, Any], key: KeyPair = SATELLITE_KEY
) -> None:
    """A satellite registers, signed with its key."""
    topic = f"alicia/system/discovery/register/{document['device_id']}"
    payload = {**document, "public_key": key.public_key}
    text = message(document["device_id"], payload, key=key, topic=topic)
    async_fire_mqtt_message(hass, topic, text)
    await hass.async_block_till_done()
