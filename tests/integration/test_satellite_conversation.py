"""HA's `assist_satellite.start_conversation` on a bus satellite: announced with its chime, then the device's run answered."""

from __future__ import annotations

from typing import Literal

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, intent
import pytest

from custom_components.alicia.const import DOMAIN
from tests.conftest import PIPELINE_SECONDS, wait_until

from .satellites import BusSatellite, StubStt, pipelines_agent


class StubAgent(conversation.AbstractConversationAgent):
    """An agent that can hold a conversation (HA's own agent cannot start one): it says what it did."""

    def __init__(self) -> None:
        """Nothing asked yet."""
        self.asked: list[conversation.ConversationInput] = []

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        """English."""
        return ["en"]

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        """Closing the blinds, it says."""
        self.asked.append(user_input)
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech("Closing the blinds")
        return conversation.ConversationResult(
            response=response, conversation_id=user_input.conversation_id
        )


@pytest.fixture
async def agent(hass: HomeAssistant, stt_engine: StubStt) -> StubAgent:
    """The stub agent, the default pipeline's."""
    stub = StubAgent()
    await pipelines_agent(hass, stub)
    return stub


async def test_start_conversation_announces_then_answers_the_run_the_device_opens(
    hass: HomeAssistant, agent: StubAgent, satellite: BusSatellite, stt_engine: StubStt
) -> None:
    entity_id = er.async_get(hass).async_get_entity_id(
        "assist_satellite", DOMAIN, "hall_satellite_assist_satellite"
    )
    assert entity_id is not None
    stt_engine.text = "yes, close them"
    await hass.services.async_call(
        "assist_satellite", "start_conversation",
        {"entity_id": entity_id, "start_message": "The sun is on the sofa. Close the blinds?"},
        blocking=False,
    )  # fmt: skip
    await wait_until(lambda: any(e["type"] == "announce" for e in satellite.events()))
    (sent,) = [e for e in satellite.events() if e["type"] == "announce"]
    assert sent["text"] == "The sun is on the sofa. Close the blinds?"
    assert sent["url"].startswith("http://10.10.10.10:8123/api/tts_proxy/")
    assert sent["preannounce_url"] == (
        "http://10.10.10.10:8123/api/assist_satellite/static/preannounce.mp3"
    )
    assert sent["listen"] is True  # the device opens a run once it has played this
    assert hass.states.get(entity_id).state == "responding"  # type: ignore[union-attr]
    satellite.played(sent["run_id"])
    await wait_until(lambda: hass.states.get(entity_id).state == "idle")  # type: ignore[union-attr]

    satellite.run()  # as told: a run at stt, once the announcement played
    for _ in range(4):
        satellite.audio()
    satellite.audio(end=True)
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    types = satellite.types()
    assert types[:2] == ["listening", "heard"]
    assert {"transcript", "processing", "answer", "play"} <= set(types)
    assert "error" not in types
    events = {
        e["type"]: e for e in satellite.events() if e["run_id"] == satellite.run_id
    }
    assert events["answer"]["text"] == "Closing the blinds"
    assert events["play"]["url"].startswith("http://10.10.10.10:8123/api/tts_proxy/")
    # HA's pipeline ran on the device's audio, in the conversation it started.
    (asked,) = agent.asked
    assert asked.text == "yes, close them"
    assert asked.extra_system_prompt == "The sun is on the sofa. Close the blinds?"
    assert hass.states.get(entity_id).state == "responding"  # type: ignore[union-attr]
    satellite.played()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "idle"  # type: ignore[union-attr]
