"""Speakers as media players: volume, mute, playback, announcements, TTS and HA's intents."""

from __future__ import annotations

import io
import json
from typing import Any
from unittest.mock import patch
import wave

from homeassistant.components import tts
from homeassistant.components.media_player import MediaPlayerEntityFeature
from homeassistant.config_entries import ConfigFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import (
    MqttMockHAClient,
    WebSocketGenerator,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.alicia.bus.signing import verify
from custom_components.alicia.const import DOMAIN

from .helpers import LIGHT, approve_repair, register, send, setup_alicia

SPEAKER: dict[str, Any] = {
    "device_id": "kitchen_speaker",
    "device_type": "speaker",
    "name": "Kitchen speaker",
    "capabilities": [
        "audio_playback",
        {"name": "volume_control", "parameters": {"min": 10, "max": 60}},
        "announce",
    ],
    "metadata": {"manufacturer": "Acme", "model": "Speaker"},
    "heartbeat_interval": 10,
}
PLAYER = "media_player.kitchen_speaker"
DATA = "alicia/devices/kitchen_speaker/data"


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices are approved as they register."""
    return {"approval": "auto"}


@pytest.fixture
async def speaker(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """The kitchen speaker, approved, at volume 35 of 10 to 60, idle."""
    await register(hass, SPEAKER)
    await send(hass, DATA, "kitchen_speaker", {"values": {
        "volume_control": 35, "audio_playback": {"state": "idle", "muted": False},
    }})  # fmt: skip
    return entry


def sent_command(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> dict[str, Any]:
    """The last command the speaker was sent, its signature checked."""
    # Other messages (HA's states for devices) may be published after it.
    topic = "alicia/devices/kitchen_speaker/command"
    sent = [
        c.args for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic
    ]
    assert sent, "no command was sent to the speaker"
    _, raw, _, _ = sent[-1]
    message: dict[str, Any] = json.loads(raw)
    hub = hass.config_entries.async_entries(DOMAIN)[0].runtime_data
    verify(topic, message, hub.admission.key.public_key)
    payload: dict[str, Any] = message["payload"]
    return payload


async def call(hass: HomeAssistant, action: str, **data: Any) -> None:
    await hass.services.async_call(
        "media_player", action, {"entity_id": PLAYER, **data}, blocking=True
    )


async def test_snapshot(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, snapshot: SnapshotAssertion
) -> None:
    with patch("custom_components.alicia.PLATFORMS", [Platform.MEDIA_PLAYER]):
        entry = await setup_alicia(hass, {"approval": "auto"})
        await register(hass, SPEAKER)
        await send(hass, DATA, "kitchen_speaker", {"values": {
            "volume_control": 35, "audio_playback": {"state": "playing", "muted": False, "media_url": "http://x/a.mp3"},
        }})  # fmt: skip
    await snapshot_platform(hass, er.async_get(hass), snapshot, entry.entry_id)


@pytest.mark.usefixtures("speaker")
async def test_volume_set_sends_the_volume_capabilitys_set(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    state = hass.states.get(PLAYER)
    assert state is not None
    assert state.attributes["volume_level"] == 0.5  # 35 of 10 to 60
    await call(hass, "volume_set", volume_level=0.4)
    assert sent_command(hass, mqtt_mock) == {
        "capability": "volume_control", "action": "set", "params": {"value": 30.0},
    }  # fmt: skip
    await call(hass, "volume_up")
    assert sent_command(hass, mqtt_mock)["params"] == {"value": 40.0}


@pytest.mark.usefixtures("speaker")
async def test_state_follows_what_the_speaker_reports(hass: HomeAssistant) -> None:
    async def report(values: dict[str, Any]) -> Any:
        await send(hass, DATA, "kitchen_speaker", {"values": values})
        return hass.states.get(PLAYER)

    state = await report({})
    assert (state.state, state.attributes["is_volume_muted"]) == ("idle", False)
    state = await report({"audio_playback": {"state": "playing", "muted": True}})
    assert (state.state, state.attributes["is_volume_muted"]) == ("playing", True)
    assert (await report({"audio_playback": "paused"})).state == "paused"
    state = await report({"audio_playback": ["nonsense"], "volume_control": 80})
    assert state.state == "unknown"
    assert state.attributes["volume_level"] == 1.0  # beyond its max: clamped
    state = await report({"volume_control": "loud"})
    assert "volume_level" not in state.attributes


@pytest.mark.usefixtures("speaker")
async def test_mute_pause_resume_stop(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    for action, data, command, params in (
        ("volume_mute", {"is_volume_muted": True}, "mute", {"muted": True}),
        ("media_pause", {}, "pause", {}),
        ("media_play", {}, "resume", {}),
        ("media_stop", {}, "stop", {}),
    ):
        await call(hass, action, **data)
        assert sent_command(hass, mqtt_mock) == {
            "capability": "audio_playback", "action": command, "params": params,
        }  # fmt: skip


@pytest.fixture
async def media(hass: HomeAssistant, speaker: MockConfigEntry) -> None:
    """HA's media sources and TTS, reachable at a known address."""
    hass.config.internal_url = "http://192.0.2.10:8123"
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "media_source", {})
    assert await async_setup_component(hass, "tts", {"tts": {"platform": "demo"}})
    await hass.async_block_till_done()


@pytest.mark.usefixtures("media")
async def test_announce_plays_the_tts_address_as_an_announcement(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    await hass.services.async_call(
        DOMAIN, "announce", {"entity_id": PLAYER, "message": "Dinner is ready.", "volume": 0.4},
        blocking=True,
    )  # fmt: skip
    command = sent_command(hass, mqtt_mock)
    assert command["action"] == "play_media"
    params = command["params"]
    assert params["url"].startswith("http://192.0.2.10:8123/api/tts_proxy/")
    assert (params["announce"], params["volume"]) == (True, 0.4)


class Voice(tts.TextToSpeechEntity):
    """A TTS entity for tts.speak."""

    _attr_name = "Voice"

    def __init__(self) -> None:
        self._attr_supported_languages = ["en"]

    _attr_default_language = "en"

    def get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> tts.TtsAudioType:
        audio = io.BytesIO()
        with wave.open(audio, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(16000)
            wav.writeframes(bytes(3200))
        return "wav", audio.getvalue()


@pytest.mark.usefixtures("media")
async def test_tts_speak_on_the_speaker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.TTS])
        return True

    async def add_voice(hass: HomeAssistant, entry: MockConfigEntry, add: Any) -> None:
        add([Voice()])

    mock_integration(
        hass, MockModule("voice", async_setup_entry=setup_entry), built_in=False
    )
    mock_platform(hass, "voice.tts", MockPlatform(async_setup_entry=add_voice))
    mock_platform(hass, "voice.config_flow")
    voice = MockConfigEntry(domain="voice")
    voice.add_to_hass(hass)
    with mock_config_flow("voice", ConfigFlow):
        assert await hass.config_entries.async_setup(voice.entry_id)
    await hass.services.async_call(
        "tts", "speak", {"entity_id": "tts.voice", "media_player_entity_id": PLAYER, "message": "Hello"},
        blocking=True,
    )  # fmt: skip
    # HA makes the audio in the background; done before the test ends.
    await hass.async_block_till_done(wait_background_tasks=True)
    params = sent_command(hass, mqtt_mock)["params"]
    assert params["url"].startswith("http://192.0.2.10:8123/api/tts_proxy/")


@pytest.mark.usefixtures("media")
async def test_play_media_takes_web_addresses_only(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    await call(hass, "play_media", media_content_id="https://radio.example/a.mp3",
               media_content_type="music")  # fmt: skip
    assert sent_command(hass, mqtt_mock)["params"] == {
        "url": "https://radio.example/a.mp3", "announce": False,
    }  # fmt: skip
    with pytest.raises(ServiceValidationError) as error:
        await call(hass, "play_media", media_content_id="spotify:track:1",
                   media_content_type="music")  # fmt: skip
    assert error.value.translation_key == "unplayable_media"


@pytest.mark.usefixtures("media")
async def test_browsing_shows_hass_media_sources(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "media_player/browse_media", "entity_id": PLAYER}
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    assert answer["result"]["media_content_id"].startswith("media-source://")


@pytest.mark.usefixtures("speaker")
async def test_hass_intents_act_on_the_speaker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "intent", {})
    await intent.async_handle(
        hass, "test", "HassSetVolume",
        {"name": {"value": "Kitchen speaker"}, "volume_level": {"value": 40}},
    )  # fmt: skip
    assert sent_command(hass, mqtt_mock)["params"] == {"value": 30.0}
    await send(hass, DATA, "kitchen_speaker", {"values": {"audio_playback": "playing"}})
    await intent.async_handle(
        hass, "test", "HassMediaPause", {"name": {"value": "Kitchen speaker"}}
    )
    assert sent_command(hass, mqtt_mock)["action"] == "pause"


async def test_only_speakers_get_one_and_it_replaces_the_volume_number(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    entities = er.async_get(hass)
    # A number an earlier version made for the speaker's volume goes.
    entities.async_get_or_create(
        "number", DOMAIN, "kitchen_speaker_volume_control", config_entry=entry
    )
    await register(hass, SPEAKER)
    await register(hass, LIGHT)
    await register(hass, {**SPEAKER, "device_id": "radio", "name": "Radio",
                          "device_type": "actuator", "capabilities": ["volume"]})  # fmt: skip
    players = {
        e.unique_id
        for e in er.async_entries_for_config_entry(entities, entry.entry_id)
        if e.domain == "media_player"
    }
    assert players == {"kitchen_speaker_speaker"}
    assert not entities.async_get_entity_id(
        "number", DOMAIN, "kitchen_speaker_volume_control"
    )
    assert entities.async_get_entity_id("number", DOMAIN, "radio_volume")
    # A speaker without a volume capability: playback and mute, no volume.
    await register(hass, {**SPEAKER, "capabilities": ["announce"]})
    state = hass.states.get(PLAYER)
    assert state is not None
    assert (
        not state.attributes["supported_features"] & MediaPlayerEntityFeature.VOLUME_SET
    )
    await hass.services.async_call(
        "media_player", "volume_mute", {"entity_id": PLAYER, "is_volume_muted": True},
        blocking=True,
    )  # fmt: skip
    assert sent_command(hass, mqtt_mock)["action"] == "mute"
    # HA offers no volume then; asked anyway, it sends nothing.
    player = hass.data["entity_components"]["media_player"].get_entity(PLAYER)
    mqtt_mock.async_publish.reset_mock()
    await player.async_set_volume_level(0.5)
    assert not mqtt_mock.async_publish.called
    # Registered again as no speaker (another type: the user agrees): the player goes.
    await register(
        hass, {**SPEAKER, "device_type": "actuator", "capabilities": ["volume"]}
    )
    await approve_repair(hass, "kitchen_speaker")
    assert not entities.async_get_entity_id(
        "media_player", DOMAIN, "kitchen_speaker_speaker"
    )
