"""The simulated satellite on a real Mosquitto: a spoken command through HA's pipeline, answered and played."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import mock_config_flow
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from wyoming_services.sim_satellite import Fetch

from .conftest import RealBus
from .satellites import CHUNK, StubFlow, StubStt, setup_voice, spoken_turn

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
