"""A run under way when the user replaces its key stops: nothing of it reaches the new key's holder, nothing more of it acts."""

from __future__ import annotations

import asyncio

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.conftest import PIPELINE_SECONDS, wait_until

from .helpers import LIGHT, approve_repair, register_keyed
from .satellites import (
    SATELLITE,
    BusSatellite,
    StubStt,
    pipelines_agent,
    register_signed,
)
from .test_hub_child_authority import HUB, HUB_KEY, behind_the_hub
from .test_satellite_conversation import StubAgent
from .test_satellite_rekey import turn

NEW_KEY = KeyPair.from_seed(bytes(range(90, 122)))


class HeldAgent(StubAgent):
    """Answers, and asks back, only once let: the run stays under way at its agent."""

    def __init__(self) -> None:
        """Nobody asking yet."""
        super().__init__()
        self.asking = asyncio.Event()
        self.go = asyncio.Event()
        self.cancelled = False

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        """Waits for go, then answers and keeps the conversation open."""
        self.asking.set()
        try:
            await self.go.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        result = await super().async_process(user_input)
        result.continue_conversation = True
        return result


@pytest.fixture
async def held(hass: HomeAssistant, stt_engine: StubStt) -> HeldAgent:
    """The held agent, the default pipeline's."""
    stub = HeldAgent()
    await pipelines_agent(hass, stub)
    return stub


def state_of(hass: HomeAssistant, device_id: str) -> str:
    """The device's satellite state."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "assist_satellite", DOMAIN, f"{device_id}_assist_satellite"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def at_the_agent(satellite: BusSatellite, agent: HeldAgent) -> list[str]:
    """The device says something; its run waits at the agent. What it was told so far."""
    satellite.run()
    satellite.audio(end=True)
    await wait_until(agent.asking.is_set)
    assert state_of(satellite.hass, satellite.device_id) == "processing"
    return satellite.types()


async def hubs_child(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> BusSatellite:
    """The satellite approved keyless behind the light hub, speaking by the hub's key."""
    await register_keyed(hass, LIGHT)
    await behind_the_hub(hass, SATELLITE)
    return BusSatellite(hass, mqtt_mock, key=HUB_KEY)


def ended_for_good(satellite: BusSatellite, run_id: str) -> bool:
    """The run's last events: `key_changed`, then an `end` that asks for no more listening."""
    error, end = [e for e in satellite.events() if e["run_id"] == run_id][-2:]
    return error.get("code") == "key_changed" and not end.get("listen")


async def test_a_run_at_its_agent_when_the_key_is_replaced_is_never_answered(
    hass: HomeAssistant, held: HeldAgent, satellite: BusSatellite, stt_engine: StubStt
) -> None:
    """The attack: the old key's words were answered, and asked back, to the new key's holder."""
    told = await at_the_agent(satellite, held)
    old_run = satellite.run_id
    await register_signed(hass, SATELLITE, NEW_KEY)
    await approve_repair(hass, SATELLITE["device_id"])
    held.go.set()
    await hass.async_block_till_done(wait_background_tasks=True)

    # No answer, no play, no end to listen on: told its run ended, it goes idle.
    assert satellite.types(old_run) == [*told, "error", "end"]
    assert ended_for_good(satellite, old_run)
    assert held.cancelled
    assert state_of(hass, SATELLITE["device_id"]) == "idle"
    new_holder = BusSatellite(hass, satellite.mqtt, key=NEW_KEY)
    await turn(hass, new_holder, stt_engine, "hello")  # its own runs go on
    assert {"answer", "play"} <= set(new_holder.types())
    assert state_of(hass, SATELLITE["device_id"]) == "idle"


async def test_a_run_still_streaming_when_the_key_is_replaced_is_forgotten(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    held: HeldAgent,
    satellite: BusSatellite,
) -> None:
    """Its audio ends there: the listener holds no run of the old key's, HA's pipeline stops."""
    satellite.run()
    satellite.audio()
    await wait_until(lambda: "listening" in satellite.types())
    told = satellite.types()
    await register_signed(hass, SATELLITE, NEW_KEY)
    await approve_repair(hass, SATELLITE["device_id"])

    assert SATELLITE["device_id"] not in voice_entry.runtime_data.satellites.runs
    assert state_of(hass, SATELLITE["device_id"]) == "idle"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert satellite.types() == [*told, "error", "end"]
    assert ended_for_good(satellite, satellite.run_id)
    assert not held.asking.is_set()


async def test_a_hubs_child_run_stops_when_its_hubs_key_is_replaced(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    held: HeldAgent,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """A keyless child speaks by its hub's key: the hub's new key is the child's, its run stops too."""
    child = await hubs_child(hass, mqtt_mock)
    told = await at_the_agent(child, held)
    await register_signed(hass, LIGHT, NEW_KEY)
    await approve_repair(hass, HUB)
    held.go.set()
    await hass.async_block_till_done(wait_background_tasks=True)

    assert child.types() == [*told, "error", "end"]
    assert ended_for_good(child, child.run_id)
    assert held.cancelled
    assert state_of(hass, SATELLITE["device_id"]) == "idle"


async def test_a_hubs_child_run_goes_on_when_its_hub_registers_its_same_key(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    held: HeldAgent,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """Its hub's updates change nothing of its key: the run is answered."""
    child = await hubs_child(hass, mqtt_mock)
    await at_the_agent(child, held)
    await register_keyed(hass, {**LIGHT, "name": "Hall hub"})
    held.go.set()
    await wait_until(lambda: "end" in child.types(), limit=PIPELINE_SECONDS)
    assert {"answer", "play"} <= set(child.types())
    assert next(e for e in child.events() if e["type"] == "end")["listen"] is True
