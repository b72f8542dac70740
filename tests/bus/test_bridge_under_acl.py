"""The bridge and devices on a real Mosquitto enforcing the ACL alicia.mosquitto_acl writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from alicia_bus.audio import decode_audio
from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair, verify
from custom_components.alicia.acl import mosquitto_acl
from tests.bus.client import BusClient, bus_client, publish_trust
from tests.bus.conftest import start_bridge
from tests.conftest import Mosquitto, ServerProcess, sockets_allowed, wait_until
from tests.fake_xai import FakeXai

pytestmark = pytest.mark.slow
HA, BRIDGE = "homeassistant", "bridge-acl"
DEVICE, OTHER = "kitchen_satellite", "hall_sensor"
# As docs/security.md has them: a user per device, named like it.
APPROVED = [
    (BRIDGE, "service", None),
    (DEVICE, "satellite", None),
    (OTHER, "sensor", None),
]
PASSWORDS = {user: f"{user}-password" for user in (HA, BRIDGE, DEVICE, OTHER)}
HUB = KeyPair.generate()
KEYS = {DEVICE: KeyPair.generate(), OTHER: KeyPair.generate()}
AI = "alicia/voice/ai/request"
VOCABULARY = "alicia/voice/stt/vocabulary"
LIGHT = "alicia/integration/ha/state/light.kitchen"
COMMAND = "alicia/integration/ha/command"
HEARTBEAT = "alicia/system/health/heartbeat"
ERRORS = "alicia/system/errors"


def inbox(device: str) -> str:
    return f"alicia/devices/{device}/replies"


@asynccontextmanager
async def as_user(
    broker: Mosquitto, user: str, *topics: str
) -> AsyncIterator[BusClient]:
    """A client logged in as user, subscribed to topics."""
    async with bus_client(
        broker.port, *topics, username=user, password=PASSWORDS[user]
    ) as client:
        yield client


async def home_assistant_publishes(broker: Mosquitto) -> None:
    """What HA keeps on the broker for the bridge: its key, trust list, vocabulary, a state."""
    async with as_user(broker, HA) as ha:
        devices = {device: key.public_key for device, key in KEYS.items()}
        await publish_trust(ha, HUB, "verify", devices)
        said = new_message("home-assistant", "event", {"phrases": ["the Roborock"]})
        await ha.publish(VOCABULARY, HUB.sign(VOCABULARY, said), retain=True)
        state = new_message("home-assistant", "event", {
            "entity_id": "light.kitchen", "state": "off", "area": "Kitchen",
            "attributes": {"friendly_name": "Kitchen light"}, "last_changed": "now",
        })  # fmt: skip
        await ha.publish(LIGHT, HUB.sign(LIGHT, state), retain=True)


@pytest.fixture(scope="module")
def acl_bus(
    tmp_path_factory: pytest.TempPathFactory, fake_xai_server: FakeXai
) -> Iterator[tuple[Mosquitto, ServerProcess]]:
    """A broker with a password file and the generated ACL; the bridge as its service user."""
    directory = tmp_path_factory.mktemp("acl")
    acl = mosquitto_acl("alicia", APPROVED, HA)
    broker = Mosquitto(directory / "mosquitto", users=PASSWORDS, acl=acl)
    broker.start()
    try:
        with sockets_allowed():
            fake_xai_server.configure()
            asyncio.run(home_assistant_publishes(broker))
        bridge = start_bridge(
            broker, fake_xai_server, BRIDGE, directory, "--grok-api", "responses",
            "--mqtt-username", BRIDGE, "--mqtt-password", PASSWORDS[BRIDGE],
        )  # fmt: skip
        try:
            yield broker, bridge
        finally:
            bridge.stop()
    finally:
        broker.stop()


async def ask(
    client: BusClient, device: str, text: str, topic: str = AI
) -> dict[str, Any]:
    """A device's signed request, answered in its own replies/ inbox."""
    message = new_message(
        device, "request", {"text": text}, reply_to=f"{inbox(device)}/voice"
    )
    await client.publish(topic, KEYS[device].sign(topic, message))
    return await client.wait_for(
        lambda m: m.get("correlation_id") == message["message_id"],
        topic=f"{inbox(device)}/voice",
        limit=20,
    )


async def test_the_bridge_does_its_work_under_the_acl(
    acl_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    """Retained hub key, trust list, vocabulary and states read; answers and commands sent."""
    broker, bridge = acl_bus
    register = f"alicia/system/discovery/register/{BRIDGE}"
    status = f"alicia/devices/{BRIDGE}/status"
    async with (
        as_user(broker, HA, register, status, HEARTBEAT, COMMAND, ERRORS) as ha,
        as_user(broker, DEVICE, f"{inbox(DEVICE)}/#") as device,
    ):
        registration = await ha.wait_for(lambda m: True, topic=register)
        bridge_key = registration["payload"]["public_key"]
        online = await ha.wait_for(lambda m: True, topic=status)
        assert online["payload"]["state"] == "online"
        beat = await ha.wait_for(lambda m: m["source"] == BRIDGE, topic=HEARTBEAT)
        assert beat["payload"]["hub_key"] == HUB.fingerprint
        assert beat["payload"]["status"] == "healthy"
        await wait_until(lambda: "STT vocabulary" in bridge.log.read_text())
        await wait_until(lambda: "light.kitchen: off" in bridge.log.read_text())

        answer = await ask(device, DEVICE, "Are you there?")
        assert "error" not in answer["payload"]
        verify(f"{inbox(DEVICE)}/voice", answer, bridge_key)
        spoken = await ask(device, DEVICE, "Hello.", "alicia/voice/tts/request")
        assert decode_audio(spoken["payload"]["audio"]).seconds > 0
        # The trust list was read: the approved device must sign (else refused
        # on system/errors: an unsigned message in its name may be a forger's).
        unsigned = new_message(DEVICE, "request", {"text": "Unsigned?"})
        await device.publish(AI, unsigned)
        refused = await ha.wait_for(
            lambda m: m["correlation_id"] == unsigned["message_id"], topic=ERRORS
        )
        assert refused["payload"]["error"]["code"] == "unsigned"

        call = {"action": "light.turn_on", "entity_id": ["light.kitchen"]}
        xai.configure(tool_calls=[{"name": "call_action", "arguments": call}])
        asking = asyncio.create_task(ask(device, DEVICE, "Kitchen light on."))
        command = await ha.wait_for(lambda m: m["source"] == BRIDGE, topic=COMMAND)
        assert command["reply_to"] == f"{inbox(BRIDGE)}/ha"
        done = new_message(
            "home-assistant", "response", {"status": "done"},
            destination=BRIDGE, correlation_id=command["message_id"],
        )  # fmt: skip
        await ha.publish(command["reply_to"], HUB.sign(command["reply_to"], done))
        said = str((await asking)["payload"]["text"])
    assert said.startswith("Tool said: done: light.turn_on on light.kitchen.")
    assert f"Denied PUBLISH from {BRIDGE}" not in broker.log.read_text()


async def reached(
    watcher: BusClient, sender: BusClient, topics: list[str], marker: str
) -> list[str]:
    """Those of topics the sender's (retained) messages reach the watcher on; then a marker."""
    sent: dict[str, str] = {}
    for topic in [*topics, marker]:
        message = new_message("sender", "event", {"state": "offline"})
        await sender.publish(topic, message, retain=topic != marker)
        sent[topic] = message["message_id"]
    # One sender's messages reach a subscriber in order: none come after the marker.
    await watcher.wait_for(lambda m: m["message_id"] == sent[marker], marker)
    arrived = {
        m["message_id"]
        for items in watcher.messages.values()
        for m in items
        if isinstance(m, dict)
    }
    return [topic for topic in topics if sent[topic] in arrived]


async def test_the_broker_confines_devices_and_the_bridges_user(
    acl_bus: tuple[Mosquitto, ServerProcess], xai: FakeXai
) -> None:
    """The attack: each client reaching past its own topics, with its own login."""
    broker, _ = acl_bus
    # Mosquitto grants any subscription: what a client may read is checked per message.
    mine, others = f"{inbox(DEVICE)}/#", f"{inbox(OTHER)}/#"
    async with (
        as_user(broker, HA, "alicia/#") as ha,
        as_user(broker, DEVICE, mine, others) as device,
        as_user(broker, OTHER, others) as other,
        as_user(broker, BRIDGE) as bridge_user,
    ):
        # The other device's answer is sent first, on the bridge's one connection.
        await ask(other, OTHER, "Mine only?")
        await ask(device, DEVICE, "And mine?")
        assert not [
            topic for topic in device.messages if topic.startswith(inbox(OTHER))
        ]

        own = [
            f"alicia/system/discovery/register/{DEVICE}",
            f"alicia/devices/{DEVICE}/status",
            HEARTBEAT,
        ]
        forged = [
            f"alicia/devices/{OTHER}/status",
            f"alicia/devices/{BRIDGE}/status",
            "alicia/integration/ha/state/lock.front",
            "alicia/system/security/trust",
        ]
        marker = f"alicia/devices/{DEVICE}/data"
        assert await reached(ha, device, own + forged, marker) == own
        forged = [
            f"alicia/devices/{DEVICE}/status",
            f"alicia/devices/{DEVICE}/command",
            f"alicia/devices/{DEVICE}/config",
            f"alicia/devices/{OTHER}/data",
            "alicia/system/security/hub",
        ]
        assert await reached(ha, bridge_user, forged, ERRORS) == []
