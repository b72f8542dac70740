"""A satellite's own wake words in HA: listed, chosen, and the choice sent to the device."""

from __future__ import annotations

from typing import Any

from homeassistant.components.assist_pipeline.const import DATA_LAST_WAKE_UP
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.alicia.bus.satellite import SatelliteRun, StartStage
from custom_components.alicia.const import DOMAIN
from tests.conftest import wait_until

from .satellites import SATELLITE, BusSatellite, register_signed

OFFERED = [
    {"id": "okay_nabu", "phrase": "Okay Nabu"},
    {"id": "hey_jarvis", "phrase": "Hey Jarvis"},
    {"id": "Not An Id!", "phrase": "left out"},
]
HEARS = {
    **SATELLITE,
    "capabilities": [
        {"name": "microphone", "parameters": {"wake_words": OFFERED, "max_active": 1}},
        "audio_playback",
    ],
}


def satellite_id(hass: HomeAssistant) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "assist_satellite", DOMAIN, "hall_satellite_assist_satellite"
    )
    assert entity_id is not None
    return entity_id


async def ask(hass: HomeAssistant, client: Any, kind: str, **fields: Any) -> Any:
    """One of HA's assist_satellite websocket commands for the hall satellite."""
    await client.send_json_auto_id(
        {"type": f"assist_satellite/{kind}", "entity_id": satellite_id(hass), **fields}
    )
    return await client.receive_json()


@pytest.fixture
async def hearing(hass: HomeAssistant, satellite: BusSatellite) -> BusSatellite:
    """The hall satellite, registered again with its own wake words."""
    await register_signed(hass, HEARS)
    return satellite


async def test_its_own_wake_words_are_listed_with_the_first_active(
    hass: HomeAssistant, hearing: BusSatellite, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    answer = await ask(hass, client, "get_configuration")
    assert answer["success"]
    config = answer["result"]
    assert [(w["id"], w["wake_word"]) for w in config["available_wake_words"]] == [
        ("okay_nabu", "Okay Nabu"),
        ("hey_jarvis", "Hey Jarvis"),
    ]
    assert config["active_wake_words"] == ["okay_nabu"]
    assert config["max_active_wake_words"] == 1


async def test_the_users_choice_reaches_the_device(
    hass: HomeAssistant, hearing: BusSatellite, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    answer = await ask(hass, client, "set_wake_words", wake_word_ids=["hey_jarvis"])
    await hass.async_block_till_done()

    assert answer["success"]
    (sent,) = [e for e in hearing.events() if e["type"] == "configure"]
    assert sent["wake_words"] == ["hey_jarvis"]
    config = await ask(hass, client, "get_configuration")
    assert config["result"]["active_wake_words"] == ["hey_jarvis"]


@pytest.mark.parametrize(
    "chosen", [["okay_nabu", "hey_jarvis"], ["alexa"]], ids=["too_many", "not_its_own"]
)
async def test_a_choice_it_cannot_take_is_refused_and_not_sent(
    hass: HomeAssistant,
    hearing: BusSatellite,
    hass_ws_client: WebSocketGenerator,
    chosen: list[str],
) -> None:
    client = await hass_ws_client(hass)
    answer = await ask(hass, client, "set_wake_words", wake_word_ids=chosen)
    await hass.async_block_till_done()

    assert not answer["success"]
    assert not [e for e in hearing.events() if e["type"] == "configure"]


async def test_a_satellite_that_offers_none_has_none_to_choose(
    hass: HomeAssistant, satellite: BusSatellite, hass_ws_client: WebSocketGenerator
) -> None:
    client = await hass_ws_client(hass)
    answer = await ask(hass, client, "get_configuration")
    assert answer["result"]["available_wake_words"] == []
    assert answer["result"]["max_active_wake_words"] == 0


@pytest.mark.parametrize(
    ("said", "kept"),
    [("Okay Nabu", "Okay Nabu"), ("okay_nabu", "Okay Nabu"), ("0001一一一", None)],
    ids=["phrase", "id", "made-up"],
)
async def test_only_a_wake_word_it_offers_reaches_has_house_wide_record(
    hass: HomeAssistant,
    hearing: BusSatellite,
    stt_engine: Any,
    said: str,
    kept: str | None,
) -> None:
    """HA keeps each phrase's last wake-up for good: a made-up one per run would grow it without end."""
    before = set(hass.data.get(DATA_LAST_WAKE_UP, {}))
    hearing.run_id, hearing.seq = "r1", 0
    hearing.send("run", SatelliteRun("r1", StartStage.STT, said).payload())
    await wait_until(lambda: "listening" in hearing.types())
    hearing.audio(end=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    added = set(hass.data.get(DATA_LAST_WAKE_UP, {})) - before
    assert added == ({kept} if kept else set())
