"""A bus satellite's run from the wake word, HA's pipeline detecting it with our Wyoming server's wake word."""

from __future__ import annotations

import asyncio

from homeassistant.components import assist_pipeline
from homeassistant.core import HomeAssistant
import pytest

from custom_components.alicia.bus.satellite import StartStage
from tests.conftest import PIPELINE_SECONDS, ServerProcess, wait_until
from tests.ha_wyoming import wyoming_entities
from tests.wyoming.test_wake import said

from .satellites import BusSatellite, StubStt

pytestmark = pytest.mark.slow

# 100 ms chunks, streamed a second ahead of real time (the protocol allows 2 s).
STEP = 3200
AHEAD = 1.0


@pytest.fixture
async def our_wake_word(
    hass: HomeAssistant,
    socket_enabled: None,
    wyoming_server: ServerProcess,
    stt_engine: StubStt,
) -> str:
    """HA's wyoming integration on our server; its wake_word entity is the pipeline's, on okay_nabu."""
    entity_id = (await wyoming_entities(hass, wyoming_server.uri))["wake_word"]
    await assist_pipeline.async_update_pipeline(
        hass, assist_pipeline.async_get_pipeline(hass),
        wake_word_entity=entity_id, wake_word_id="okay_nabu",
    )  # fmt: skip
    return entity_id


async def test_okay_nabu_heard_by_our_server_then_the_command_runs(
    hass: HomeAssistant,
    our_wake_word: str,
    satellite: BusSatellite,
    stt_engine: StubStt,
) -> None:
    """Wake word (our server's, through HA's wyoming entity) → command → answer to play."""
    wake = said("flite-awb", "Okay Nabu")
    command = said("flite-awb", "turn on the lights")
    pcm = wake + command
    satellite.run(StartStage.WAKE_WORD)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index, offset in enumerate(range(0, len(pcm), STEP)):
        if "heard" in satellite.types():
            break  # HA heard the end of the command: stop streaming
        satellite.audio(pcm[offset : offset + STEP])
        await asyncio.sleep(max(0.0, started + index * 0.1 - AHEAD - loop.time()))
    satellite.audio(end=True)
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    types = satellite.types()
    assert "error" not in types
    assert types.index("wake_word") < types.index("listening") < types.index("play")
    transcript = next(
        e for e in satellite.events()
        if e["run_id"] == satellite.run_id and e["type"] == "transcript"
    )  # fmt: skip
    assert transcript["text"] == "turn on the lights"
    # The command stage heard what came after the wake word, not the whole stream.
    assert 0 < len(stt_engine.heard) < len(pcm)
