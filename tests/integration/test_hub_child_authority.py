"""A device behind a hub, without a key of its own: its hub's key is its word, in every part of HA."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from tests.conftest import PIPELINE_SECONDS, wait_until

from .helpers import (
    LIGHT,
    VOICE,
    alicia_device,
    approve_repair,
    device_key,
    message,
    recorded,
    register,
    register_keyed,
)
from .satellites import CHUNK, SATELLITE, BusSatellite, StubStt

# Approved with its own key, registering children behind itself.
HUB = LIGHT["device_id"]
HUB_KEY = device_key(HUB)
REGISTER = "alicia/system/discovery/register/{}"
UNREGISTER = "alicia/system/discovery/unregister"
RESPONSE = "alicia/voice/command/response"
REMOTE: dict[str, Any] = {
    "device_id": "hall_remote", "device_type": "sensor", "name": "Hall remote",
    "capabilities": ["temperature", "battery"], "via_device": HUB,
}  # fmt: skip
REMOTE_ID = REMOTE["device_id"]
HUB_VOICE = {**VOICE, "device_id": "hub_voice", "name": "Hub voice"}
GOODNIGHT = {"transcript": "Good night", "answer": "Sleep well.", "language": "en"}


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices approved as they register."""
    return {"approval": "auto"}


async def behind_the_hub(hass: HomeAssistant, document: dict[str, Any]) -> str:
    """The hub registers a child (no key of its own) through itself; the text sent."""
    topic = REGISTER.format(document["device_id"])
    text = message(HUB, {**document, "via_device": HUB}, key=HUB_KEY, topic=topic)
    async_fire_mqtt_message(hass, topic, text)
    await hass.async_block_till_done()
    return text


async def as_the_child(
    hass: HomeAssistant, child: str, topic: str, payload: dict[str, Any]
) -> None:
    """A message in the child's name, signed with its hub's key (as a hub speaks for it)."""
    async_fire_mqtt_message(
        hass, topic, message(child, payload, key=HUB_KEY, topic=topic)
    )
    await hass.async_block_till_done()


async def voice_result(hass: HomeAssistant, signed: bool) -> None:
    """The child voice server's result for the hub, signed with its hub's key or unsigned."""
    text = message(
        HUB_VOICE["device_id"], GOODNIGHT, "response",
        key=HUB_KEY if signed else None, topic=RESPONSE,
        correlation_id="q1", destination=HUB,
    )  # fmt: skip
    async_fire_mqtt_message(hass, RESPONSE, text)
    await hass.async_block_till_done()


async def test_a_hubs_child_satellite_opens_a_pipeline_by_its_hubs_key(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    stt_engine: StubStt,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """The defect: its run, verified with the hub's key, was refused as from a device without one."""
    await register_keyed(hass, LIGHT)
    await behind_the_hub(hass, SATELLITE)
    BusSatellite(hass, mqtt_mock, key=None).run()  # anyone, unsigned, in its name
    await hass.async_block_till_done()
    assert voice_entry.runtime_data.admission.audit.counts["unsigned"] == 1

    child = BusSatellite(hass, mqtt_mock, key=HUB_KEY)
    child.run()
    child.audio(end=True)
    await wait_until(lambda: "end" in child.types(), limit=PIPELINE_SECONDS)
    assert stt_engine.heard == CHUNK


async def test_a_hubs_child_voice_server_counts_until_its_hub_loses_its_key(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Its voice result fires the automations' event by its hub's key; unsigned, or keyless, never."""
    await register_keyed(hass, LIGHT)
    await behind_the_hub(hass, HUB_VOICE)
    fired = recorded(hass, "alicia_voice_command")
    await voice_result(hass, signed=False)
    assert fired == []
    await voice_result(hass, signed=True)
    assert fired == [{"device_id": HUB, **GOODNIGHT}]

    await register(hass, LIGHT)  # the hub, registered again without a key
    await approve_repair(hass, HUB)  # the user lets it go without one
    assert entry.runtime_data.roster.key_of(HUB_VOICE["device_id"]) is None
    await voice_result(hass, signed=True)
    await voice_result(hass, signed=False)
    assert len(fired) == 1


async def test_the_agent_takes_a_hubs_child_voice_server_proven_by_its_hubs_key(
    hass: HomeAssistant, agent_entry: MockConfigEntry
) -> None:
    """A server typed in by hand proves the child's id with the key that speaks for it."""
    agent_entry.runtime_data.approvals.set_permit(True)
    await register_keyed(hass, LIGHT)
    await behind_the_hub(hass, HUB_VOICE)
    agent = hass.data["entity_components"]["conversation"].get_entity(
        "conversation.alicia"
    )
    assert agent.link.keys() == {HUB_VOICE["device_id"]: HUB_KEY.public_key}


async def test_nobody_registers_a_hubs_child_again_unsigned_in_its_name(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The attack (verify mode): unsigned as the child, a stranger renamed it and took its battery away."""
    await register_keyed(hass, LIGHT)
    await behind_the_hub(hass, REMOTE)
    child = entry.runtime_data.roster.devices[REMOTE_ID]
    forged = {**REMOTE, "name": "Stranger's", "capabilities": ["temperature"]}
    await register(hass, forged)
    assert child.name == "Hall remote"
    assert [c.name for c in child.record.capabilities] == ["temperature", "battery"]

    renamed = {**REMOTE, "name": "Remote"}
    await as_the_child(hass, REMOTE_ID, REGISTER.format(REMOTE_ID), renamed)
    assert child.name == "Remote"  # in its name, signed by its hub: its word


async def leaves(hass: HomeAssistant, sender: str, device_id: str) -> None:
    """sender (the child, or its hub) unregisters device_id, signed with the hub's key."""
    text = message(sender, {"device_id": device_id}, key=HUB_KEY, topic=UNREGISTER)
    async_fire_mqtt_message(hass, UNREGISTER, text)
    await hass.async_block_till_done()


async def replay(hass: HomeAssistant, registered: str) -> None:
    """An attacker replays the hub's old registration of the child, as retained."""
    async_fire_mqtt_message(hass, REGISTER.format(REMOTE_ID), registered, retain=True)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("sender", "leaving"),
    [(REMOTE_ID, REMOTE_ID), (HUB, REMOTE_ID), (HUB, HUB)],
    ids=["the-child-itself", "its-hub-for-it", "its-hub-leaving"],
)
async def test_a_hubs_child_that_left_is_not_brought_back_by_its_hubs_old_words(
    hass: HomeAssistant, entry: MockConfigEntry, sender: str, leaving: str
) -> None:
    """The attack: the hub's registration of the child, replayed after it left, approved it again (its hub gone: unsigned, anyone's)."""
    await register_keyed(hass, LIGHT)
    registered = await behind_the_hub(hass, REMOTE)
    await asyncio.sleep(0.01)  # it leaves later than it was registered
    await leaves(hass, sender, leaving)
    assert REMOTE_ID not in entry.runtime_data.roster.devices

    await replay(hass, registered)
    assert REMOTE_ID not in entry.runtime_data.roster.devices
    assert REMOTE_ID not in entry.runtime_data.approvals.pending


async def test_a_hub_back_after_leaving_does_not_bring_its_child_back_by_old_words(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Its child left with it; approved again, only its new registration of the child counts."""
    await register_keyed(hass, LIGHT)
    registered = await behind_the_hub(hass, REMOTE)
    await asyncio.sleep(0.01)
    await leaves(hass, HUB, HUB)
    await register_keyed(hass, LIGHT)
    assert HUB in entry.runtime_data.roster.devices

    await replay(hass, registered)
    assert REMOTE_ID not in entry.runtime_data.roster.devices
    await behind_the_hub(hass, REMOTE)
    assert entry.runtime_data.roster.key_of(REMOTE_ID) == HUB_KEY.public_key


async def test_a_hubs_child_acts_on_nothing_while_its_hub_is_disabled(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """The attack: the user disabled the hub; its keyless child still acted by the hub's key."""
    await register_keyed(hass, LIGHT)
    await behind_the_hub(hass, REMOTE)
    roster = entry.runtime_data.roster
    assert roster.may_act(REMOTE_ID)
    hub = alicia_device(hass, HUB)
    assert hub is not None
    registry = dr.async_get(hass)
    registry.async_update_device(hub.id, disabled_by=dr.DeviceEntryDisabler.USER)
    await hass.async_block_till_done()
    assert not roster.may_act(REMOTE_ID)
    assert REMOTE_ID not in roster.trusted()
    registry.async_update_device(hub.id, disabled_by=None)
    await hass.async_block_till_done()
    assert roster.may_act(REMOTE_ID)
