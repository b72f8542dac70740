"""The simulated satellite on a real Mosquitto: a spoken command through HA's pipeline, answered and played; its button; a question."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import mock_config_flow
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alicia.const import DOMAIN
from tests.conftest import wait_until
from wyoming_services.sim_satellite import Fetch

from .conftest import RealBus
from .satellites import CHUNK, StubFlow, StubStt, joined, setup_voice, spoken_turn

pytestmark = pytest.mark.slow


@pytest.fixture
async def stt_engine(hass: HomeAssistant) -> AsyncIterator[StubStt]:
    """HA's Assist with the stub engines."""
    with mock_config_flow("stub_voice", StubFlow):
        yield await setup_voice(hass)


@pytest.fixture
def real_bus_options(stt_engine: StubStt) -> dict[str, Any]:
    """Assist before Alicia; devices approved as they register."""
    return {"approval": "auto"}


@pytest.fixture
async def fetch(
    hass_client_no_auth: ClientSessionGenerator,
) -> Fetch:
    """The satellite's GET of HA's answer, through HA's HTTP views."""
    client = await hass_client_no_auth()

    async def get(url: str) -> AsyncIterator[bytes]:
        answer = await client.get(urlsplit(url).path)
        assert answer.status == 200
        async for block in answer.content.iter_any():
            yield block

    return get


async def test_a_spoken_command_is_heard_answered_and_played_in_real_time(
    hass: HomeAssistant,
    real_bus: RealBus,
    stt_engine: StubStt,
    fetch: Fetch,
) -> None:
    _, turn = await spoken_turn(hass, real_bus.port, fetch)
    assert turn.types()[:2] == ["listening", "heard"]
    assert {"transcript", "processing", "answer", "play", "end"} <= set(turn.types())
    assert stt_engine.heard == CHUNK * 5
    assert turn.answer.startswith(
        b"ID3"
    )  # the stub's WAV, as HA's pipeline serves it: MP3
    assert turn.first_audio is not None
    assert (
        turn.first_audio > 0
    )  # after the end of speech (how soon: bench/run_satellite)


async def test_its_trigger_button_in_hass_makes_it_say_its_clip(
    hass: HomeAssistant, real_bus: RealBus, stt_engine: StubStt, fetch: Fetch
) -> None:
    """What scripts/develop's copy offers: press *Trigger* on its device, it speaks."""
    registry = er.async_get(hass)
    async with joined(hass, real_bus.port, fetch, clip=CHUNK * 5) as satellite:
        # Its button (HA shows the `trigger` capability as one) comes with its approval.
        button = registry.async_get_entity_id("button", DOMAIN, "sim_satellite_trigger")
        await hass.services.async_call(
            "button", "press", {"entity_id": button}, blocking=True
        )
        await wait_until(lambda: any(t.done.is_set() for t in satellite.turns.values()))
    (turn,) = satellite.turns.values()
    assert {"listening", "transcript", "answer", "play", "end"} <= set(turn.types())
    assert stt_engine.heard == CHUNK * 5
    assert turn.answer.startswith(b"ID3")


async def test_asked_a_question_it_opens_the_run_and_says_its_reply(
    hass: HomeAssistant, real_bus: RealBus, stt_engine: StubStt, fetch: Fetch
) -> None:
    stt_engine.text = "yes please"
    async with joined(hass, real_bus.port, fetch) as satellite:
        satellite.reply = CHUNK * 4
        entity_id = er.async_get(hass).async_get_entity_id(
            "assist_satellite", DOMAIN, "sim_satellite_assist_satellite"
        )
        answer = await hass.services.async_call(
            "assist_satellite", "ask_question",
            {"entity_id": entity_id,
             "question": "Shall I close the blinds?",
             "answers": [{"id": "yes", "sentences": ["yes [please]"]},
                         {"id": "no", "sentences": ["no [thanks]"]}]},
            blocking=True, return_response=True,
        )  # fmt: skip
        await wait_until(lambda: any(t.done.is_set() for t in satellite.turns.values()))
    assert answer == {"id": "yes", "sentence": "yes please", "slots": {}}
    (announced,) = satellite.announced
    assert announced.listen
    assert announced.preannounce_url is not None
    (turn,) = satellite.turns.values()  # the run it opened once the question played
    assert turn.types()[0] == "listening"
    assert "transcript" in turn.types()
    assert stt_engine.heard == CHUNK * 4
