"""A satellite whose key the user replaced starts a new conversation: the new key's holder hears nothing said under the old."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.alicia.bus.signing import KeyPair
from tests.conftest import PIPELINE_SECONDS, wait_until

from .helpers import approve_repair
from .satellites import SATELLITE, BusSatellite, StubStt, register_signed
from .test_satellite_conversation import StubAgent, agent

__all__ = ["agent"]

NEW_KEY = KeyPair.from_seed(bytes(range(90, 122)))


async def turn(
    hass: HomeAssistant, satellite: BusSatellite, stt: StubStt, said: str
) -> None:
    """The satellite says something and plays the answer."""
    stt.text = said
    satellite.run()
    for _ in range(4):
        satellite.audio()
    satellite.audio(end=True)
    await wait_until(lambda: "end" in satellite.types(), limit=PIPELINE_SECONDS)
    satellite.played()
    await hass.async_block_till_done()


async def test_a_new_key_starts_a_new_conversation(
    hass: HomeAssistant, agent: StubAgent, satellite: BusSatellite, stt_engine: StubStt
) -> None:
    """The attack: the old key's conversation is continued by whoever holds the new key."""
    await turn(hass, satellite, stt_engine, "the alarm code is 1234")
    await register_signed(hass, SATELLITE, NEW_KEY)
    await approve_repair(hass, SATELLITE["device_id"])
    new_holder = BusSatellite(hass, satellite.mqtt, key=NEW_KEY)
    await turn(hass, new_holder, stt_engine, "what did I just say?")
    await turn(hass, new_holder, stt_engine, "and before that?")

    old, first, second = agent.asked
    assert first.text == "what did I just say?"
    assert first.conversation_id != old.conversation_id
    assert second.conversation_id == first.conversation_id  # its own one goes on


async def test_the_same_key_goes_on_with_its_conversation(
    hass: HomeAssistant, agent: StubAgent, satellite: BusSatellite, stt_engine: StubStt
) -> None:
    """Registered again with its key, the satellite keeps its conversation."""
    await turn(hass, satellite, stt_engine, "close the blinds")
    await register_signed(hass, SATELLITE)
    await turn(hass, satellite, stt_engine, "and the door")

    first, second = agent.asked
    assert second.conversation_id == first.conversation_id
