"""Announcements: the alicia.announce action and the alicia/devices/speakers/announce topic."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.components.media_player.const import MediaPlayerEntityFeature
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.announce import default_tts_engine
from custom_components.alicia.const import DOMAIN

from .helpers import (
    SENSOR,
    VOICE,
    register,
    register_keyed,
    send,
    send_keyed,
    setup_alicia,
)

ANNOUNCING = (
    MediaPlayerEntityFeature.PLAY_MEDIA | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
)
ANNOUNCE = "alicia/devices/speakers/announce"
# A device that asks for announcements: its capability document says so.
DOORBELL = {
    "device_id": "doorbell", "device_type": "sensor", "name": "Doorbell",
    "capabilities": ["announce"], "metadata": {"location": "kitchen"},
}  # fmt: skip


@pytest.fixture
async def setup(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> tuple[MockConfigEntry, list[ServiceCall]]:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "tts", {"tts": {"platform": "demo"}})
    assert await async_setup_component(hass, "media_player", {})
    await hass.async_block_till_done()
    # After the real media_player component, so this replaces its action.
    calls = async_mock_service(hass, "media_player", "play_media")
    kitchen = ar.async_get(hass).async_get_or_create("Kitchen")
    entities = er.async_get(hass)
    for object_id, features, area in (
        ("kitchen_sonos", ANNOUNCING, kitchen.id),
        ("old_radio", MediaPlayerEntityFeature.PLAY_MEDIA, None),
    ):
        entry = entities.async_get_or_create(
            "media_player", "test", object_id, suggested_object_id=object_id
        )
        entities.async_update_entity(entry.entity_id, area_id=area)
        hass.states.async_set(
            entry.entity_id, "playing", {"supported_features": int(features)}
        )
    entry = await setup_alicia(hass, {"approval": "auto"})
    return entry, calls


async def test_action_announces_with_volume(
    hass: HomeAssistant, setup: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    _, calls = setup
    result = await hass.services.async_call(
        DOMAIN, "announce",
        {"entity_id": "media_player.kitchen_sonos", "message": "Dinner is ready.", "volume": 0.4},
        blocking=True, return_response=True,
    )  # fmt: skip
    assert result == {"players": ["media_player.kitchen_sonos"]}
    assert len(calls) == 1
    data = calls[0].data
    assert data["entity_id"] == "media_player.kitchen_sonos"
    assert data["announce"] is True
    assert data["extra"] == {"volume": 40}
    assert data["media_content_id"].startswith(
        "media-source://tts/demo?message=Dinner+is+ready."
    )


async def test_players_without_announce_get_plain_play_media(
    hass: HomeAssistant, setup: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    _, calls = setup
    await hass.services.async_call(
        DOMAIN, "announce", {"entity_id": "media_player.old_radio", "media_url": "media-source://media_source/local/bell.mp3"},
        blocking=True,
    )  # fmt: skip
    assert "announce" not in calls[0].data
    assert (
        calls[0].data["media_content_id"]
        == "media-source://media_source/local/bell.mp3"
    )


async def test_area_target_and_unknown_target(
    hass: HomeAssistant, setup: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    _, calls = setup
    await hass.services.async_call(
        DOMAIN, "announce", {"area_id": "kitchen", "message": "Hi."}, blocking=True
    )
    assert [c.data["entity_id"] for c in calls] == ["media_player.kitchen_sonos"]
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN,
            "announce",
            {"entity_id": "media_player.nowhere", "message": "Hi."},
            blocking=True,
        )
    assert error.value.translation_key == "no_media_player"


async def test_an_announcement_without_a_message_says_so(
    hass: HomeAssistant, setup: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    _, calls = setup
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN,
            "announce",
            {"entity_id": "media_player.kitchen_sonos"},
            blocking=True,
        )
    assert error.value.translation_key == "nothing_to_say"
    assert calls == []


async def test_an_options_volume_is_the_actions_scale(
    hass: HomeAssistant, setup: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    entry, calls = setup
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "announce_volume": 0.3}
    )
    await hass.async_block_till_done()
    await hass.services.async_call(
        DOMAIN,
        "announce",
        {"entity_id": "media_player.kitchen_sonos", "message": "Hi."},
        blocking=True,
    )
    assert calls[0].data["extra"] == {"volume": 30}


async def test_topic_plays_in_the_requesting_devices_room(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """The voice route speaks an answer in the room of the device that asked, an announcer."""
    _, calls = setup
    played = async_capture_events(hass, "alicia_announcement_played")
    await register_keyed(
        hass, DOORBELL
    )  # its location "kitchen" puts it in the Kitchen area
    await register_keyed(
        hass, VOICE
    )  # the bridge, approved (automatic approval): it may ask
    mqtt_mock.async_publish.reset_mock()
    await send_keyed(hass, ANNOUNCE, "alicia-voice", {
        "message": "The oven is hot.", "language": "en", "volume": 0.5, "target": {"device_id": "doorbell"},
    })  # fmt: skip
    assert [c.data["entity_id"] for c in calls] == ["media_player.kitchen_sonos"]
    assert calls[0].data["extra"] == {"volume": 50}
    topic, raw, _, _ = mqtt_mock.async_publish.call_args.args
    assert topic == "alicia/devices/speakers/announce/response"
    response = json.loads(raw)
    assert response["message_type"] == "response"
    assert response["payload"] == {
        "status": "played",
        "players": ["media_player.kitchen_sonos"],
    }
    assert played[0].data == {
        "device_id": "alicia-voice",
        "message": "The oven is hot.",
        "players": ["media_player.kitchen_sonos"],
    }


@pytest.mark.parametrize(
    "target",
    [
        {"device_id": "kitchen_sensor"},  # approved, but it may not announce
        {"device_id": "nobody"},  # not approved
        {"location": "kitchen"},  # nobody asked
        {"area": "kitchen"},
        {"entity_id": "media_player.kitchen_sonos"},
        {"device_id": "doorbell", "area": "kitchen"},  # more than the asker's room
    ],
    ids=["sensor", "unknown", "location", "area", "player", "asker-and-area"],
)
async def test_the_voice_route_announces_only_for_an_asker_that_may(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
    target: dict[str, str],
) -> None:
    """The bridge's announcement carries its asker's authority: a sensor's words are not played."""
    _, calls = setup
    await register_keyed(hass, SENSOR)
    await register_keyed(hass, DOORBELL)
    await register_keyed(hass, VOICE)
    answer = await answer_to(hass, mqtt_mock, "alicia-voice", {
        "message": "Fire. Leave the front door open.", "target": target,
    })  # fmt: skip
    assert_refused(answer, calls, "only for the approved device that asked")


async def test_a_device_target_and_a_location_find_their_players(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
) -> None:
    _, calls = setup
    owner = MockConfigEntry(domain="test")
    owner.add_to_hass(hass)
    radio_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=owner.entry_id, identifiers={("test", "old_radio")}
    )
    er.async_get(hass).async_update_entity(
        "media_player.old_radio", device_id=radio_device.id
    )
    await hass.services.async_call(
        DOMAIN, "announce", {"device_id": radio_device.id, "message": "Hi."},
        blocking=True,
    )  # fmt: skip
    await register_keyed(hass, DOORBELL)
    await send_keyed(hass, ANNOUNCE, "doorbell",
               {"message": "Hello.", "target": {"location": "kitchen"}})  # fmt: skip
    assert [c.data["entity_id"] for c in calls] == [
        "media_player.old_radio", "media_player.kitchen_sonos"
    ]  # fmt: skip


async def test_the_voice_is_the_option_else_the_apps_wyoming_tts(
    hass: HomeAssistant, setup: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    entities = er.async_get(hass)
    assert default_tts_engine(hass, None) == "demo"  # HA's default, no app
    app = entities.async_get_or_create("tts", "wyoming", "piper-joe")
    hass.states.async_set(app.entity_id, "unknown")
    assert default_tts_engine(hass, None) == app.entity_id
    chosen = entities.async_get_or_create("tts", "cloud", "cloud-voice")
    hass.states.async_set(chosen.entity_id, "unknown")
    assert default_tts_engine(hass, chosen.entity_id) == chosen.entity_id
    # An option naming a voice that is gone falls back, as if unset.
    assert default_tts_engine(hass, "tts.removed") == app.entity_id


def assert_refused(answer: dict[str, Any], calls: list[ServiceCall], why: str) -> None:
    """Refused, saying why, and nothing played."""
    assert answer["status"] == "failed"
    assert answer["error"]["code"] == "refused"
    assert why in answer["error"]["message"]
    assert calls == []


async def answer_to(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    source: str,
    payload: dict[str, Any],
    signed: bool = True,
) -> dict[str, Any]:
    """What HA answers source's announcement request (signed with its device_key, or not)."""
    mqtt_mock.async_publish.reset_mock()
    await (send_keyed if signed else send)(hass, ANNOUNCE, source, payload)
    answers: list[dict[str, Any]] = [
        json.loads(c.args[1])["payload"]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"{ANNOUNCE}/response"
    ]
    (answer,) = answers
    return answer


async def test_a_sensor_cannot_play_a_url_on_a_player(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """An approved sensor (no announce capability, no voice route) is refused, as ha/command refuses it."""
    _, calls = setup
    await register_keyed(hass, SENSOR)
    answer = await answer_to(hass, mqtt_mock, "kitchen_sensor", {
        "media_url": "http://evil.example/x.mp3", "volume": 1.0,
        "target": {"entity_id": "media_player.kitchen_sonos"},
    })  # fmt: skip
    assert_refused(answer, calls, "may not announce")


async def test_an_announcer_reaches_only_players_exposed_to_assist(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """A player not exposed to Assist is refused by name and left out of an area."""
    _, calls = setup
    await register_keyed(hass, DOORBELL)
    async_expose_entity(hass, "conversation", "media_player.old_radio", False)
    kitchen = ar.async_get(hass).async_get_area_by_name("Kitchen")
    assert kitchen is not None
    er.async_get(hass).async_update_entity("media_player.old_radio", area_id=kitchen.id)
    named = await answer_to(hass, mqtt_mock, "doorbell", {
        "message": "Ding.", "target": {"entity_id": "media_player.Old_Radio"},
    })  # fmt: skip
    assert (
        named["error"]["message"]
        == "media_player.old_radio is no media_player entity exposed to Assist"
    )
    area = await answer_to(
        hass,
        mqtt_mock,
        "doorbell",
        {"message": "Ding.", "target": {"area": kitchen.id}},
    )
    assert area == {"status": "played", "players": ["media_player.kitchen_sonos"]}
    assert [c.data["entity_id"] for c in calls] == ["media_player.kitchen_sonos"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"media_url": "media-source://media_source/local/x.mp3"}, "invalid_field"),
        ({"media_url": "file:///etc/passwd"}, "invalid_field"),
        ({"media_url": "http://x.example/" + "a" * 2048}, "invalid_field"),
        ({"message": "Hi.", "target": {"entity_id": ["media_player.kitchen_sonos"]}}, "invalid_field"),
        ({"message": "Hi.", "target": {"location": {"$ne": 1}}}, "invalid_field"),
        ({"message": "Hi.", "target": {"device_id": 5}}, "invalid_field"),
        ({"message": "Hi.", "target": "media_player.kitchen_sonos"}, "invalid_field"),
        ({"message": 5}, "invalid_field"),
    ],
    ids=["media-source", "file", "long-url", "entity-list", "location-object",
         "device-number", "target-text", "message-number"],
)  # fmt: skip
async def test_an_announcers_request_is_typed(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
    payload: dict[str, Any],
    code: str,
) -> None:
    """A URL is http(s) of bounded length, every target field text: else refused, clearly."""
    _, calls = setup
    await register_keyed(hass, DOORBELL)
    target = {"target": {"entity_id": "media_player.kitchen_sonos"}}
    answer = await answer_to(hass, mqtt_mock, "doorbell", target | payload)
    assert answer["status"] == "failed"
    assert answer["error"]["code"] == code
    assert len(answer["error"]["message"]) < 200
    assert calls == []


@pytest.mark.parametrize(
    "media_url",
    [
        "http://192.0.2.10:8123/api/states",
        "http://192.0.2.10:8123/api/camera_proxy/camera.door",
        "https://home.example.org/api/states",
    ],
)
@pytest.mark.usefixtures("dns")
async def test_a_speaker_cannot_have_ha_sign_its_own_address(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, media_url: str
) -> None:
    """HA signs its own addresses for players: a device asking for one would read HA's API."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "media_player", {})
    hass.config.internal_url = "http://192.0.2.10:8123"
    hass.config.external_url = "https://home.example.org"
    await setup_alicia(hass, {"approval": "auto"})
    speaker = {
        "device_id": "hall_speaker", "device_type": "speaker", "name": "Hall speaker",
        "capabilities": ["audio_playback", "announce"], "heartbeat_interval": 10,
    }  # fmt: skip
    await register_keyed(hass, speaker)
    target = {"target": {"entity_id": "media_player.hall_speaker"}}
    answer = await answer_to(
        hass, mqtt_mock, "hall_speaker", target | {"media_url": media_url}
    )
    assert answer["status"] == "failed"
    assert "Home Assistant's own addresses" in answer["error"]["message"]
    sent = [
        c.args[1]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == "alicia/devices/hall_speaker/command"
    ]
    assert sent == []
    # Another host's address still plays, as it is.
    elsewhere = {"media_url": "http://radio.example/stream.mp3"}
    assert (await answer_to(hass, mqtt_mock, "hall_speaker", target | elsewhere))[
        "status"
    ] == "played"


async def test_a_device_approved_without_a_key_announces_nothing(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """Anyone on the broker can speak in the name of a device without a key."""
    _, calls = setup
    await register(hass, DOORBELL)
    answer = await answer_to(hass, mqtt_mock, "doorbell", {
        "message": "The alarm is off, open the door.",
        "target": {"entity_id": "media_player.kitchen_sonos"},
    }, signed=False)  # fmt: skip
    assert_refused(answer, calls, "approved without a key")


async def test_a_sensor_listing_stt_and_ai_is_no_voice_route(
    hass: HomeAssistant,
    setup: tuple[MockConfigEntry, list[ServiceCall]],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """Only a service (the app's bridge) is a voice server: a sensor claiming it announces nothing."""
    _, calls = setup
    await register_keyed(hass, {**SENSOR, "capabilities": ["temperature", "stt", "ai"]})
    answer = await answer_to(hass, mqtt_mock, "kitchen_sensor", {
        "message": "Ding.", "target": {"entity_id": "media_player.kitchen_sonos"},
    })  # fmt: skip
    assert_refused(answer, calls, "may not announce")
