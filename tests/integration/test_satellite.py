"""Alicia devices with a microphone and a speaker as HA Assist satellites, HA's pipeline over the bus."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from homeassistant.components import assist_pipeline
from homeassistant.components.assist_satellite import AssistSatelliteEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import (
    MqttMockHAClient,
    WebSocketGenerator,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.alicia.bus.satellite import StartStage
from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.conftest import PIPELINE_SECONDS, wait_until

from .helpers import LIGHT, SENSOR, alicia_device, message, register, setup_alicia
from .satellites import (
    CHUNK,
    SATELLITE,
    SATELLITE_KEY,
    BusSatellite,
    StubStt,
    register_signed,
)


def entity_of(hass: HomeAssistant, platform: str, unique_id: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)


async def test_a_device_that_hears_and_plays_is_a_satellite_with_its_selects(
    hass: HomeAssistant, satellite: BusSatellite
) -> None:
    entity_id = entity_of(hass, "assist_satellite", "hall_satellite_assist_satellite")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "idle"
    assert state.attributes["supported_features"] == (
        AssistSatelliteEntityFeature.ANNOUNCE
        | AssistSatelliteEntityFeature.START_CONVERSATION
    )
    pipeline = entity_of(hass, "select", "hall_satellite-pipeline")
    vad = entity_of(hass, "select", "hall_satellite-vad_sensitivity")
    assert pipeline is not None
    assert vad is not None
    assert hass.states.get(pipeline).state == "preferred"  # type: ignore[union-attr]
    assert hass.states.get(vad).state == "default"  # type: ignore[union-attr]
    device = alicia_device(hass, "hall_satellite")
    assert device is not None
    registry = er.async_get(hass)
    for entity in (entity_id, pipeline, vad):
        assert registry.async_get(entity).device_id == device.id  # type: ignore[union-attr]


async def test_a_speaker_alone_or_a_sensor_is_no_satellite(
    hass: HomeAssistant, voice_entry: MockConfigEntry
) -> None:
    speaker = {
        **SATELLITE,
        "device_id": "hall_speaker",
        "capabilities": ["audio_playback"],
    }
    microphone = {**SENSOR, "device_id": "hall_mic", "capabilities": ["microphone"]}
    for document in (speaker, microphone, SENSOR):
        await register(hass, document)
    assert not [
        e
        for e in er.async_get(hass).entities.values()
        if e.platform == DOMAIN and e.domain == "assist_satellite"
    ]


async def test_a_run_goes_through_hass_pipeline_and_acts_in_the_satellites_area(
    hass: HomeAssistant,
    satellite: BusSatellite,
    stt_engine: StubStt,
    mqtt_mock: MqttMockHAClient,
) -> None:
    await register(hass, LIGHT)  # the hall light, in the satellite's area
    await register(hass, {**LIGHT, "device_id": "kitchen_light", "name": "Kitchen light",
                          "metadata": {"location": "kitchen"}})  # fmt: skip
    hall = ar.async_get(hass).async_get_area_by_name("hall")
    assert hall is not None
    assert alicia_device(hass, "hall_satellite").area_id == hall.id  # type: ignore[union-attr]
    entity_id = entity_of(hass, "assist_satellite", "hall_satellite_assist_satellite")
    assert entity_id is not None

    satellite.run()
    await hass.async_block_till_done()
    for _ in range(9):
        satellite.audio()
    satellite.audio(end=True)
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    assert stt_engine.heard == CHUNK * 10
    types = satellite.types()
    assert types[:2] == ["listening", "heard"]
    assert {"transcript", "processing", "answer", "play"} <= set(types)
    events = {
        e["type"]: e for e in satellite.events() if e["run_id"] == satellite.run_id
    }
    assert events["transcript"]["text"] == "turn on the lights"
    assert events["play"]["url"].startswith("http://10.10.10.10:8123/api/tts_proxy/")
    # "turn on the lights" from the hall: the hall light only.
    commands = [
        (c.args[0], json.loads(c.args[1])["payload"])
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0].endswith("/command")
        and json.loads(c.args[1])["payload"].get("capability") == "light"
    ]
    assert commands == [
        ("alicia/devices/hall_light/command",
         {"capability": "light", "action": "turn_on", "params": {}}),
    ]  # fmt: skip
    assert hass.states.get(entity_id).state == "responding"  # type: ignore[union-attr]
    satellite.played()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "idle"  # type: ignore[union-attr]


def satellite_entity(hass: HomeAssistant) -> str:
    entity_id = entity_of(hass, "assist_satellite", "hall_satellite_assist_satellite")
    assert entity_id is not None
    return entity_id


async def announced(satellite: BusSatellite) -> dict[str, Any]:
    """The announcement HA sent the device."""
    await wait_until(lambda: any(e["type"] == "announce" for e in satellite.events()))
    return next(e for e in satellite.events() if e["type"] == "announce")


async def test_announce_plays_the_chime_then_the_message_until_the_device_played_it(
    hass: HomeAssistant, satellite: BusSatellite
) -> None:
    entity_id = satellite_entity(hass)
    call = hass.async_create_task(
        hass.services.async_call(
            "assist_satellite",
            "announce",
            {"entity_id": entity_id, "message": "Dinner is ready"},
            blocking=True,
        )
    )
    sent = await announced(satellite)
    assert sent["text"] == "Dinner is ready"
    assert sent["url"].startswith("http://10.10.10.10:8123/api/tts_proxy/")
    assert sent["preannounce_url"] == (
        "http://10.10.10.10:8123/api/assist_satellite/static/preannounce.mp3"
    )
    assert "listen" not in sent
    await asyncio.sleep(0.1)
    assert not call.done()  # HA waits for the device to have played it
    assert hass.states.get(entity_id).state == "responding"  # type: ignore[union-attr]
    satellite.played(sent["run_id"])
    await call
    assert hass.states.get(entity_id).state == "idle"  # type: ignore[union-attr]


async def test_announce_without_the_chime_plays_a_url_as_given(
    hass: HomeAssistant, satellite: BusSatellite
) -> None:
    call = hass.async_create_task(
        hass.services.async_call(
            "assist_satellite",
            "announce",
            {
                "entity_id": satellite_entity(hass),
                "media_id": "http://example.com/a.mp3",
                "preannounce": False,
            },
            blocking=True,
        )
    )
    sent = await announced(satellite)
    assert sent["url"] == "http://example.com/a.mp3"
    assert "preannounce_url" not in sent
    assert "text" not in sent
    satellite.played(sent["run_id"])
    await call


async def test_ask_question_hears_the_answer_of_the_run_the_device_opens(
    hass: HomeAssistant, satellite: BusSatellite, stt_engine: StubStt
) -> None:
    stt_engine.text = "yes please"
    call = hass.async_create_task(
        hass.services.async_call(
            "assist_satellite",
            "ask_question",
            {
                "entity_id": satellite_entity(hass),
                "question": "Shall I close the blinds?",
                "answers": [
                    {"id": "yes", "sentences": ["yes [please]"]},
                    {"id": "no", "sentences": ["no [thanks]"]},
                ],
            },
            blocking=True,
            return_response=True,
        )
    )
    sent = await announced(satellite)
    assert sent["listen"] is True  # the device opens a run once it has played this
    satellite.played(sent["run_id"])
    satellite.run()
    satellite.audio(end=True)
    answer = await call
    assert answer == {"id": "yes", "sentence": "yes please", "slots": {}}
    # Only speech-to-text ran: the device is told the run ended, no answer to play.
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    assert "play" not in satellite.types()


async def test_a_satellite_registered_again_without_its_microphone_loses_its_entities(
    hass: HomeAssistant, satellite: BusSatellite
) -> None:
    await register_signed(hass, {**SATELLITE, "capabilities": ["audio_playback"]})
    assert (
        entity_of(hass, "assist_satellite", "hall_satellite_assist_satellite") is None
    )
    assert entity_of(hass, "select", "hall_satellite-pipeline") is None
    assert entity_of(hass, "select", "hall_satellite-vad_sensitivity") is None
    assert entity_of(hass, "media_player", "hall_satellite_speaker") is not None
    satellite.run()  # no satellite any more: nothing opens
    await hass.async_block_till_done()
    assert satellite.events() == []
    await register_signed(hass, SATELLITE)  # and back
    assert entity_of(hass, "assist_satellite", "hall_satellite_assist_satellite")
    assert entity_of(hass, "select", "hall_satellite-pipeline")


async def test_hass_satellite_ui_reads_no_wake_words_to_choose(
    hass: HomeAssistant,
    satellite: BusSatellite,
    hass_ws_client: WebSocketGenerator,
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_satellite/get_configuration",
            "entity_id": satellite_entity(hass),
        }
    )
    answer = await client.receive_json()
    assert answer["success"]
    assert answer["result"]["available_wake_words"] == []
    assert answer["result"]["active_wake_words"] == []


async def test_a_run_from_hass_wake_word_hears_the_command_after_it(
    hass: HomeAssistant, satellite: BusSatellite, stt_engine: StubStt
) -> None:
    """Wake word (HA's, in the stream) → command → answer played."""
    satellite.run(StartStage.WAKE_WORD)
    for _ in range(14):
        satellite.audio()
    satellite.audio(end=True)
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    types = satellite.types()
    assert types.index("wake_word") < types.index("listening") < types.index("play")
    assert "error" not in types
    # The command is what came after the wake word (HA keeps its last chunks).
    assert 0 < len(stt_engine.heard) < len(CHUNK) * 15


async def test_an_announcement_never_said_played_ends_after_its_wait(
    hass: HomeAssistant, satellite: BusSatellite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "custom_components.alicia.assist_satellite.ANNOUNCE_SECONDS", 0.1
    )
    await hass.services.async_call(
        "assist_satellite", "announce",
        {"entity_id": satellite_entity(hass), "media_id": "http://example.com/a.mp3"},
        blocking=True,
    )  # fmt: skip
    state = hass.states.get(satellite_entity(hass))
    assert state is not None
    assert state.state == "idle"


async def test_a_satellites_entities_as_snapshots(
    hass: HomeAssistant,
    stt_engine: StubStt,
    mqtt_mock: MqttMockHAClient,
    snapshot: SnapshotAssertion,
) -> None:
    """Its satellite and selects, as snapshot_platform shows a platform's (three here)."""
    await setup_alicia(hass, {"approval": "auto"})
    await register_signed(hass, SATELLITE)
    device = alicia_device(hass, "hall_satellite")
    assert device is not None
    registry = er.async_get(hass)
    entries = sorted(
        (e for e in er.async_entries_for_device(registry, device.id)
         if e.domain in ("assist_satellite", "select")),
        key=lambda e: e.entity_id,
    )  # fmt: skip
    assert len(entries) == 3
    for entity in entries:
        assert entity == snapshot(name=f"{entity.entity_id}-entry")
        assert hass.states.get(entity.entity_id) == snapshot(
            name=f"{entity.entity_id}-state"
        )


async def test_ten_satellites_streaming_at_once_each_get_their_answer(
    hass: HomeAssistant, voice_entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    satellites = []
    for index in range(10):
        key = KeyPair.from_seed(bytes([index + 1]) * 32)
        document = {**SATELLITE, "device_id": f"sat_{index}", "name": f"Sat {index}"}
        await register_signed(hass, document, key)
        satellites.append(
            BusSatellite(hass, mqtt_mock, device_id=f"sat_{index}", key=key)
        )
    for satellite in satellites:
        satellite.run()
    for _ in range(9):  # a second of audio each, interleaved as the broker delivers it
        for satellite in satellites:
            satellite.audio()
    for satellite in satellites:
        satellite.audio(end=True)
    # HA's agent loads its sentences at the first recognition: 20 s on a busy CI host.
    await wait_until(lambda: all("end" in s.types() for s in satellites), limit=90)
    for satellite in satellites:
        assert "play" in satellite.types(), satellite.device_id
        assert "error" not in satellite.types(), satellite.device_id


async def test_a_satellite_said_offline_still_runs_with_its_settings(
    hass: HomeAssistant, satellite: BusSatellite
) -> None:
    """Unavailable (its status said offline): its selects are HA's settings, still read."""
    topic = "alicia/devices/hall_satellite/status"
    text = message(
        "hall_satellite", {"state": "offline"}, key=SATELLITE_KEY, topic=topic
    )
    async_fire_mqtt_message(hass, topic, text)
    await hass.async_block_till_done()
    state = hass.states.get(satellite_entity(hass))
    assert state is not None
    assert state.state == "unavailable"
    vad = entity_of(hass, "select", "hall_satellite-vad_sensitivity")
    assert vad is not None
    assert hass.states.get(vad).state == "default"  # type: ignore[union-attr]
    satellite.run()  # it speaks: it is back
    satellite.audio(end=True)
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    assert "error" not in satellite.types()


async def test_a_run_hass_cannot_start_is_told_hass_error(
    hass: HomeAssistant, satellite: BusSatellite
) -> None:
    await assist_pipeline.async_update_pipeline(
        hass, assist_pipeline.async_get_pipeline(hass), stt_engine="stt.gone"
    )
    satellite.run()
    satellite.audio(end=True)
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    (error,) = [e for e in satellite.events() if e["type"] == "error"]
    assert error["code"] == "stt-provider-missing"
    state = hass.states.get(satellite_entity(hass))
    assert state is not None
    assert state.state == "idle"
