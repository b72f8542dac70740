"""scripts/develop's Assist pipeline against HA's own pipeline API: the Alicia agent only with a Grok key (#32, 9)."""

from __future__ import annotations

import sys
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import (
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from dev_bootstrap import ALICIA_AGENT, Bootstrap

HA_AGENT = "conversation.home_assistant"


class HomeBootstrap(Bootstrap):
    """The bootstrap's steps, its websocket commands sent to the test's HA."""

    def __init__(self, client: MockHAClientWebSocket) -> None:
        """No HTTP session: only the websocket is used."""
        self.client = client

    async def websocket(self, *commands: dict[str, Any]) -> list[Any]:
        """HA's results, in order; a refused command fails the test."""
        results = []
        for command in commands:
            await self.client.send_json_auto_id(command)
            message = await self.client.receive_json()
            assert message["success"], message
            results.append(message["result"])
        return results


@pytest.fixture
async def bootstrap(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> HomeBootstrap:
    """HA with Assist, the app's Wyoming entities and the Alicia agent in its registry."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    assert await async_setup_component(hass, "config", {})
    entities = er.async_get(hass)
    for domain, platform, name in (
        ("stt", "wyoming", "alicia_stt"),
        ("tts", "wyoming", "alicia_tts"),
        ("conversation", "alicia", "alicia"),
    ):
        entities.async_get_or_create(domain, platform, name, suggested_object_id=name)
    return HomeBootstrap(await hass_ws_client(hass))


async def alicia_pipeline(bootstrap: HomeBootstrap) -> dict[str, Any]:
    """The pipeline named Alicia, as HA lists it."""
    (listed,) = await bootstrap.websocket({"type": "assist_pipeline/pipeline/list"})
    (pipeline,) = [p for p in listed["pipelines"] if p["name"] == "Alicia"]
    assert listed["preferred_pipeline"] == pipeline["id"]
    return dict(pipeline)


@pytest.mark.parametrize(("key", "agent"), [("", HA_AGENT), ("xai-key", ALICIA_AGENT)])
async def test_a_first_start_asks_grok_only_with_a_key(
    bootstrap: HomeBootstrap, monkeypatch: pytest.MonkeyPatch, key: str, agent: str
) -> None:
    monkeypatch.setenv("ALICIA_GROK_API_KEY", key)
    monkeypatch.delenv("ALICIA_GROK_BASE_URL", raising=False)
    await bootstrap.pipeline()
    pipeline = await alicia_pipeline(bootstrap)
    assert pipeline["conversation_engine"] == agent
    assert (pipeline["stt_engine"], pipeline["tts_engine"]) == (
        "stt.alicia_stt",
        "tts.alicia_tts",
    )


async def test_an_earlier_pipeline_on_grok_without_a_key_falls_back_to_has_agent(
    bootstrap: HomeBootstrap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALICIA_GROK_BASE_URL", raising=False)
    monkeypatch.setenv("ALICIA_GROK_API_KEY", "xai-key")
    await bootstrap.pipeline()  # a .dev folder made when a key was set
    before = await alicia_pipeline(bootstrap)
    monkeypatch.delenv("ALICIA_GROK_API_KEY")
    await bootstrap.pipeline()
    after = await alicia_pipeline(bootstrap)
    assert after == {**before, "conversation_engine": HA_AGENT}


async def test_a_users_own_choice_of_agent_is_kept(
    bootstrap: HomeBootstrap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALICIA_GROK_API_KEY", raising=False)
    monkeypatch.delenv("ALICIA_GROK_BASE_URL", raising=False)
    await bootstrap.pipeline()
    chosen = await alicia_pipeline(bootstrap)
    fields = {k: v for k, v in chosen.items() if k != "id"}
    await bootstrap.websocket({
        **fields, "type": "assist_pipeline/pipeline/update",
        "pipeline_id": chosen["id"], "conversation_engine": "conversation.other",
    })  # fmt: skip
    monkeypatch.setenv("ALICIA_GROK_API_KEY", "xai-key")
    await bootstrap.pipeline()
    kept = await alicia_pipeline(bootstrap)
    assert kept["conversation_engine"] == "conversation.other"
