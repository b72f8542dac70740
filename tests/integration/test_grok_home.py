"""Grok on the home through HA's Assist: real broker, real integration, our server, fake xAI."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from tests.conftest import (
    TEST_KEY,
    Mosquitto,
    ServerProcess,
    sockets_allowed,
    wait_until,
)
from tests.fake_xai import FakeXai

from .conftest import RealBus
from .helpers import store_hub_key

pytestmark = pytest.mark.slow

BRIDGE = "alicia-voice-test"
TEMPERATURE = "sensor.living_room_temperature"
JOKE = "Why did the scarecrow win an award? He was outstanding in his field."


@pytest.fixture
def real_bus_options() -> dict[str, Any]:
    """The voice bridge is approved as it registers."""
    return {"approval": "auto"}


# One broker and one server for the module (their start was most of each test's time);
# HA, its MQTT entry and Alicia's are each test's own.
@pytest.fixture(scope="module")
def real_bus_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """The module's Mosquitto."""
    broker = Mosquitto(tmp_path_factory.mktemp("broker"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def server(
    real_bus_broker: Mosquitto,
    fake_xai_server: FakeXai,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    """Our server on the module's broker, Grok pointed at the fake API."""
    with sockets_allowed():
        fake_xai_server.configure()  # it lists its usual models as the server starts
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(real_bus_broker.port),
        "--bridge-id", BRIDGE, "--grok-base-url", fake_xai_server.base_url,
        "--grok-api", "responses", log=log, env={"ALICIA_GROK_API_KEY": TEST_KEY},
    )  # fmt: skip
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def hub_key(hass_storage: dict[str, Any]) -> None:
    """Every test's hub has the same key: the server pinned the first one it saw."""
    store_hub_key(hass_storage)


@pytest.fixture
def server_log_offset(server: ServerProcess) -> int:
    """How much the server has logged before this test's HA starts."""
    return server.log.stat().st_size


@dataclass
class Assist:
    """HA's websocket client, the Alicia pipeline, and the light actions' calls."""

    client: Any
    pipeline_id: str
    calls: dict[str, list[ServiceCall]]


@pytest.fixture
async def home(hass: HomeAssistant) -> None:
    """A living-room thermometer and two lights, the vault's not exposed to Assist."""
    assert await async_setup_component(hass, "homeassistant", {})
    living = ar.async_get(hass).async_create("Living room")
    registry = er.async_get(hass)
    thermometer = registry.async_get_or_create(
        "sensor", "test", "temperature", suggested_object_id="living_room_temperature"
    )
    registry.async_update_entity(thermometer.entity_id, area_id=living.id)
    hass.states.async_set(
        TEMPERATURE, "21.5",
        {"friendly_name": "Living room temperature", "unit_of_measurement": "°C",
         "device_class": "temperature"},
    )  # fmt: skip
    hass.states.async_set("light.kitchen", "on", {"friendly_name": "Kitchen light"})
    hass.states.async_set("light.vault", "on", {"friendly_name": "Vault light"})
    async_expose_entity(hass, "conversation", TEMPERATURE, True)
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    async_expose_entity(hass, "conversation", "light.vault", False)


@pytest.fixture
async def assist(
    hass: HomeAssistant,
    home: None,
    server: ServerProcess,
    server_log_offset: int,
    real_bus: RealBus,
    xai: FakeXai,
    hass_ws_client: WebSocketGenerator,
) -> AsyncGenerator[Assist]:
    """HA's wyoming integration on our server, an Alicia pipeline.

    The home comes first: in HA, the homeassistant integration (exposure settings)
    is always set up before custom integrations. The log's offset is taken before
    real_bus sets up Alicia, which publishes the states.
    """
    # Approved (its registration is retained), and holding this HA's states: Grok's
    # tools are ready.
    await wait_until(lambda: BRIDGE in real_bus.hub.roster.devices, 30)
    state = f"State of {TEMPERATURE}".encode()
    await wait_until(lambda: state in server.log.read_bytes()[server_log_offset:])
    host, port = server.uri.removeprefix("tcp://").split(":")
    wyoming = MockConfigEntry(
        domain="wyoming",
        source="hassio",
        data={"host": host, "port": int(port)},
        title="Alicia",
    )
    wyoming.add_to_hass(hass)
    assert await hass.config_entries.async_setup(wyoming.entry_id)
    await hass.async_block_till_done()
    assert await async_setup_component(hass, "assist_pipeline", {})
    (agent,) = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), wyoming.entry_id)
        if e.domain == "conversation"
    ]
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({
        "type": "assist_pipeline/pipeline/create", "name": "Alicia", "language": "en",
        "conversation_engine": agent, "conversation_language": "en",
        "stt_engine": None, "stt_language": None, "tts_engine": None,
        "tts_language": None, "tts_voice": None,
        "wake_word_entity": None, "wake_word_id": None,
        # As scripts/develop sets it up: HA's own intents first, Grok for the rest.
        "prefer_local_intents": True,
    })  # fmt: skip
    created = await client.receive_json()
    assert created["success"], created
    # Recorded, not run; set up last, as loading integrations registers the real ones.
    calls = {
        "light.turn_off": async_mock_service(hass, "light", "turn_off"),
        "homeassistant.turn_off": async_mock_service(hass, "homeassistant", "turn_off"),
    }
    yield Assist(client, created["result"]["id"], calls)
    assert await hass.config_entries.async_unload(wyoming.entry_id)


async def say(assist: Assist, text: str) -> str:
    """Text into the Alicia pipeline, as typed in HA's Assist dialog; its spoken answer."""
    client = assist.client
    await client.send_json_auto_id({
        "type": "assist_pipeline/run", "start_stage": "intent", "end_stage": "intent",
        "input": {"text": text}, "pipeline": assist.pipeline_id,
    })  # fmt: skip
    assert (await client.receive_json())["success"]
    while (message := await client.receive_json())["event"]["type"] != "run-end":
        event = message["event"]
        assert event["type"] != "error", event
        if event["type"] == "intent-end":
            output = event["data"]["intent_output"]
            speech: str = output["response"]["speech"]["plain"]["speech"]
    return speech


async def test_a_question_about_a_sensor_is_answered_from_its_state(
    assist: Assist, xai: FakeXai
) -> None:
    xai.configure(
        tool_calls=[{"name": "list_entities",
                     "arguments": {"area": "living room", "domain": "sensor"}}]
    )  # fmt: skip
    answer = await say(assist, "What is the temperature in the living room?")
    assert (
        '"Living room temperature" (temperature) in "Living room" is "21.5 °C"'
        in answer
    )
    asked = xai.responses_requests()[0]["body"]
    assert {t["name"] for t in asked["tools"]} == {"list_entities", "call_action"}


async def test_a_command_on_an_exposed_light_runs_then_the_joke(
    hass: HomeAssistant,
    assist: Assist,
    xai: FakeXai,
) -> None:
    call = {"action": "light.turn_off", "entity_id": ["light.kitchen"]}
    xai.configure(
        tool_calls=[{"name": "call_action", "arguments": call}], after_tools=JOKE
    )
    answer = await say(assist, "Turn off the kitchen light, then tell me a joke.")
    assert answer == f"Tool said: done: light.turn_off on light.kitchen. {JOKE}"
    (done,) = assist.calls["light.turn_off"]
    assert done.data["entity_id"] == ["light.kitchen"]


HA_REFUSED = "Home Assistant refused: "
# A target hidden in the data never leaves the bridge (HA would refuse it too:
# tests/integration/test_ha_commands.py).
NOT_SENT = "payload.data must be an object without area_id, device_id, entity_id"


@pytest.mark.parametrize(
    ("call", "refusal"),
    [
        ({"action": "light.turn_off", "entity_id": ["light.vault"]}, HA_REFUSED),
        ({"action": "light.turn_off", "entity_id": ["light.kitchen", "light.vault"]},
         HA_REFUSED),
        ({"action": "light.turn_off", "entity_id": ["light.kitchen"],
          "data": {"entity_id": "light.vault"}}, NOT_SENT),
        ({"action": "light.turn_off", "entity_id": ["light.kitchen"],
          "data": {"area_id": "vault"}}, NOT_SENT),
        ({"action": "homeassistant.turn_off", "entity_id": ["light.vault"]}, HA_REFUSED),
        ({"action": "light.turn_off", "entity_id": "all"}, HA_REFUSED),
    ],
    ids=["unexposed", "mixed", "data-entity", "data-area", "other-domain", "all"],
)  # fmt: skip
async def test_an_unexposed_entity_cannot_be_touched_however_asked(
    hass: HomeAssistant,
    assist: Assist,
    xai: FakeXai,
    call: dict[str, Any],
    refusal: str,
) -> None:
    xai.configure(tool_calls=[{"name": "call_action", "arguments": call}])
    answer = await say(assist, "Switch off the vault light.")
    # Refused, and the answer says so and why.
    assert answer.startswith(f"Tool said: error: {refusal}"), answer
    assert assist.calls["light.turn_off"] == []
    assert assist.calls["homeassistant.turn_off"] == []
    vault = hass.states.get("light.vault")
    assert vault is not None
    assert vault.state == "on"
