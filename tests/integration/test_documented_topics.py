"""Each row of docs/protocol.md's topic table that HA takes part in, driven on a real broker.

The rows come from the document; a row without a scenario here (or a scenario
without a row) fails, so the table and the behaviour cannot drift apart. The
bridge's rows are driven in tests/bus/test_documented_topics.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    async_mock_service,
    mock_config_flow,
)

from custom_components.alicia.bus.envelope import new_message
from custom_components.alicia.bus.signing import verify
from custom_components.alicia.const import DOMAIN
from tests.bus.client import BusClient, bus_client
from tests.conftest import wait_until
from tests.doc_topics import DocumentedTopic, documented_topics, served_by_bridge

from .conftest import RealBus
from .helpers import approve_repair, device_key, recorded
from .satellites import StubFlow, setup_voice, spoken_turn

pytestmark = pytest.mark.slow
DEVICE = "doc_device"
# It signs (a device approved without a key moves nothing in the home).
KEY = device_key(DEVICE)
REGISTRATION = {
    "device_id": DEVICE, "device_type": "sensor", "name": "Doc device",
    "capabilities": ["temperature", "switch"], "heartbeat_interval": 30,
    "public_key": KEY.public_key,
}  # fmt: skip
ROWS = [row for row in documented_topics() if not served_by_bridge(row)]


class Scene:
    """What a scenario works with: HA, the hub, a client on the bus, recorded HA events."""

    def __init__(self, hass: HomeAssistant, bus: RealBus, client: BusClient) -> None:
        self.hass, self.hub, self.port, self.client = hass, bus.hub, bus.port, client

    async def send(
        self, topic: str, payload: dict[str, Any], retain: bool = False
    ) -> None:
        message = KEY.sign(topic, new_message(DEVICE, "event", payload))
        await self.client.publish(topic, message, retain=retain)

    async def join(self) -> None:
        """The doc device registers and is approved (automatic approval)."""
        await self.send(
            f"alicia/system/discovery/register/{DEVICE}", REGISTRATION, retain=True
        )
        await wait_until(lambda: self.entity("sensor", "temperature") is not None)

    def entity(self, platform: str, key: str) -> str | None:
        return er.async_get(self.hass).async_get_entity_id(
            platform, DOMAIN, f"{DEVICE}_{key}"
        )

    def state(self, platform: str, key: str) -> str | None:
        entity_id = self.entity(platform, key)
        current = self.hass.states.get(entity_id) if entity_id else None
        return current.state if current else None

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return recorded(self.hass, event_type)

    async def retained(self, topic: str) -> dict[str, Any]:
        """What a device subscribing now receives on topic: only a retained message."""
        async with bus_client(self.port, topic) as late:
            return await late.wait_for(lambda m: True, topic=topic, limit=10)


async def register_per_device(s: Scene, row: DocumentedTopic) -> None:
    await s.send(row.concrete(DEVICE), REGISTRATION, retain=True)
    await wait_until(lambda: DEVICE in s.hub.roster.devices)


async def register_shared(s: Scene, row: DocumentedTopic) -> None:
    await s.send(row.topic, REGISTRATION)
    await wait_until(lambda: DEVICE in s.hub.roster.devices)


async def unregister(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    await s.send(row.topic, {"device_id": DEVICE})
    await wait_until(lambda: DEVICE not in s.hub.roster.devices)


async def capabilities(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    await s.send(
        row.topic,
        REGISTRATION | {"capabilities": ["temperature", "switch", "humidity"]},
    )
    # More than was approved: the user gives it on the repair card.
    await wait_until(lambda: DEVICE in s.hub.approvals.pending)
    await approve_repair(s.hass, DEVICE)
    await wait_until(lambda: s.entity("sensor", "humidity") is not None)


async def heartbeat(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    await s.send(row.topic, {"device_id": DEVICE, "status": "degraded", "interval": 30})
    await wait_until(lambda: s.state("sensor", "health_status") == "degraded")


async def errors(s: Scene, row: DocumentedTopic) -> None:
    await s.client.publish(f"alicia/devices/{DEVICE}/data", b"{not json")
    error = await s.client.wait_for(lambda m: True, topic=row.topic, limit=10)
    assert error["payload"]["error"]["code"] == "malformed_json"


async def status(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    await s.send(row.concrete(DEVICE), {"state": "offline"}, retain=True)
    await wait_until(lambda: s.state("binary_sensor", "connectivity") == "off")


async def data(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    await s.send(row.concrete(DEVICE), {"values": {"temperature": 19.5}})
    await wait_until(lambda: s.state("sensor", "temperature") == "19.5")


async def command(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    # Approved: asked first for every value (what it sent while waiting was refused).
    report = await s.client.wait_for(
        lambda m: True, topic=row.concrete(DEVICE), limit=10
    )
    assert report["payload"] == {"action": "report", "params": {}}
    switch = s.entity("switch", "switch")
    await s.hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    sent = await s.client.wait_for(
        lambda m: m["payload"].get("action") != "report",
        topic=row.concrete(DEVICE),
        limit=10,
    )
    assert sent["payload"] == {
        "capability": "switch",
        "action": "turn_on",
        "params": {},
    }


async def config(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    device = er.async_get(s.hass).async_get(str(s.entity("sensor", "temperature")))
    assert device is not None
    await s.hass.services.async_call(
        DOMAIN, "configure_device",
        {"device_id": device.device_id, "settings": {"report_interval": 60}}, blocking=True,
    )  # fmt: skip
    sent = await s.retained(row.concrete(DEVICE))
    assert sent["payload"] == {"settings": {"report_interval": 60}}
    verify(row.concrete(DEVICE), sent, s.hub.admission.key.public_key)


async def announce(s: Scene, row: DocumentedTopic) -> None:
    # Only a device that announces (its capability) may ask for announcements.
    announcer = REGISTRATION | {"capabilities": ["temperature", "announce"]}
    await s.send(f"alicia/system/discovery/register/{DEVICE}", announcer)
    await wait_until(lambda: s.entity("sensor", "temperature") is not None)
    request = new_message(
        DEVICE,
        "request",
        {
            "message": "Dinner is ready.",
            "target": {"entity_id": "media_player.kitchen"},
        },
    )
    await s.client.publish(row.topic, KEY.sign(row.topic, request))
    answer = await s.client.answer_to(request["message_id"], limit=10)
    assert answer["payload"]["status"] == "played"


async def telemetry(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    await s.send(row.topic, {"device_id": DEVICE, "values": {"temperature": 18.0}})
    await wait_until(lambda: s.state("sensor", "temperature") == "18.0")


async def vocabulary(s: Scene, row: DocumentedTopic) -> None:
    sent = await s.retained(row.topic)
    assert "kitchen" in [p.lower() for p in sent["payload"]["phrases"]]
    verify(row.topic, sent, s.hub.admission.key.public_key)


async def security_hub(s: Scene, row: DocumentedTopic) -> None:
    sent = await s.retained(row.topic)
    assert sent["payload"]["public_key"] == s.hub.admission.key.public_key
    verify(row.topic, sent, sent["payload"]["public_key"])  # self-signed


async def security_trust(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    sent = await s.retained(row.topic)
    assert sent["payload"]["mode"] == "verify"
    verify(row.topic, sent, s.hub.admission.key.public_key)


async def ha_state(s: Scene, row: DocumentedTopic) -> None:
    sent = await s.retained(row.concrete(entity_id="light.kitchen"))
    assert sent["payload"]["entity_id"] == "light.kitchen"
    assert sent["payload"]["state"] == "off"


async def ha_command(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    request = new_message(
        DEVICE,
        "request",
        {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}},
    )
    await s.client.publish(row.topic, KEY.sign(row.topic, request))
    answer = await s.client.answer_to(request["message_id"], limit=10)
    assert answer["payload"] == {"status": "done"}


async def analytics(s: Scene, row: DocumentedTopic) -> None:
    await s.join()
    fired = s.events("alicia_analytics")
    await s.send(row.topic, {"event": "door_opened", "message": "Door opened"})
    await wait_until(lambda: bool(fired))
    assert fired[0]["message"] == "Door opened"


async def satellite_run(s: Scene, row: DocumentedTopic) -> None:
    _, turn = await spoken_turn(s.hass, s.port)
    assert turn.types()[0] == "listening"  # the run opened HA's pipeline


async def satellite_audio(s: Scene, row: DocumentedTopic) -> None:
    _, turn = await spoken_turn(s.hass, s.port)
    heard = next(e for e in turn.events if e.type == "transcript")
    assert heard.text == "turn on the lights"  # the stub STT heard the stream's end


async def satellite_event(s: Scene, row: DocumentedTopic) -> None:
    _, turn = await spoken_turn(s.hass, s.port)
    must, may = row.request_keys()
    for event in turn.events:
        assert must <= set(event.payload()) <= must | may, event


async def satellite_played(s: Scene, row: DocumentedTopic) -> None:
    satellite, turn = await spoken_turn(s.hass, s.port)
    assert "play" in turn.types()
    entity_id = er.async_get(s.hass).async_get_entity_id(
        "assist_satellite", DOMAIN, f"{satellite.device_id}_assist_satellite"
    )
    assert entity_id is not None
    await wait_until(lambda: s.hass.states.get(entity_id).state == "idle")  # type: ignore[union-attr]


SCENARIOS: dict[str, Callable[[Scene, DocumentedTopic], Awaitable[None]]] = {
    "alicia/system/discovery/register/{device_id}": register_per_device,
    "alicia/system/discovery/register": register_shared,
    "alicia/system/discovery/unregister": unregister,
    "alicia/system/discovery/capabilities": capabilities,
    "alicia/system/health/heartbeat": heartbeat,
    "alicia/system/errors": errors,
    "alicia/devices/{device_id}/status": status,
    "alicia/devices/{device_id}/data": data,
    "alicia/devices/{device_id}/command": command,
    "alicia/devices/{device_id}/config": config,
    "alicia/devices/{device_id}/satellite/run": satellite_run,
    "alicia/devices/{device_id}/satellite/audio": satellite_audio,
    "alicia/devices/{device_id}/satellite/event": satellite_event,
    "alicia/devices/{device_id}/satellite/played": satellite_played,
    "alicia/devices/speakers/announce": announce,
    "alicia/devices/sensors/telemetry": telemetry,
    "alicia/voice/stt/vocabulary": vocabulary,
    "alicia/system/security/hub": security_hub,
    "alicia/system/security/trust": security_trust,
    "alicia/integration/ha/state/{entity_id}": ha_state,
    "alicia/integration/ha/command": ha_command,
    "alicia/integration/analytics/event": analytics,
}


def test_every_documented_row_has_a_scenario() -> None:
    assert set(SCENARIOS) == {row.topic for row in ROWS}


@pytest.fixture
async def real_bus_options(hass: HomeAssistant) -> AsyncIterator[dict[str, Any]]:
    """Before Alicia starts: an exposed light, a media player, TTS, Assist; automatic approval."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "tts", {"tts": {"platform": "demo"}})
    assert await async_setup_component(hass, "media_player", {})
    await hass.async_block_till_done()
    async_mock_service(hass, "media_player", "play_media")
    async_mock_service(hass, "light", "turn_on")
    hass.states.async_set(
        "media_player.kitchen", "idle", {"supported_features": 512 | 1048576}
    )
    hass.states.async_set("light.kitchen", "off", {"friendly_name": "Kitchen"})
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    with mock_config_flow("stub_voice", StubFlow):
        await setup_voice(hass)  # satellites: HA's pipeline with stub engines
        yield {"approval": "auto"}


@pytest.mark.parametrize("row", ROWS, ids=[row.topic for row in ROWS])
async def test_documented_topic_does_what_the_table_says(
    hass: HomeAssistant, real_bus: RealBus, row: DocumentedTopic
) -> None:
    async with bus_client(real_bus.port, "alicia/#") as client:
        await SCENARIOS[row.topic](Scene(hass, real_bus, client), row)
