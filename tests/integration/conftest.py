"""Fixtures for the Home Assistant integration tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
import logging
from pathlib import Path
import socket
from typing import Any
from unittest.mock import Mock, PropertyMock, patch

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
    mock_config_flow,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import (
    MqttMockHAClient,
    MqttMockPahoClient,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.alicia.const import DOMAIN
from custom_components.alicia.hub import AliciaHub
from tests.conftest import Mosquitto, ServerProcess, wait_until
from tests.fake_xai import FakeXai

from .agent_server import FakeServers
from .helpers import HALL, SENSOR, register, setup_alicia, setup_real_mqtt
from .satellites import (
    SATELLITE,
    BusSatellite,
    StubFlow,
    StubStt,
    register_signed,
    setup_voice,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/alicia."""


@pytest.fixture
def short_mqtt_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """MQTT waits 50 s for its client; a test of that path needs less."""
    monkeypatch.setattr("homeassistant.components.mqtt.util.AVAILABILITY_TIMEOUT", 0.2)


@pytest.fixture
async def mqtt_client_mock(
    mqtt_client_mock: MqttMockPahoClient,
) -> AsyncGenerator[MqttMockPahoClient]:
    """phcc's fake paho client, whose fake socket is closed at the end of the test.

    A real paho client calls on_socket_close when its connection ends, and HA's
    MQTT client stops its once-a-second misc timer there; phcc's fake never
    does, so the timer would outlive every test that uses mqtt_mock.
    """
    yield mqtt_client_mock
    if callable(close := getattr(mqtt_client_mock, "on_socket_close", None)):
        close(mqtt_client_mock, None, Mock(fileno=Mock(return_value=-1)))


class _SnapshotsPerHAVersion(HomeAssistantSnapshotExtension):  # type: ignore[misc]
    """HA's snapshot format, in a folder per HA release (snapshots-ha-2026.11/...).

    HA's own objects serialise differently from one release to the next (state
    attribute keys became enums, device entries gained fields), and the suite
    runs on the newest release and the minimum one: each has its own snapshots,
    both checked.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """snapshots-ha-<year>.<month> beside the test file.

        Not inside snapshots/: the HA extension behind phcc's fixture walks that
        folder, and would count the other release's snapshots as unused.
        """
        release = ".".join(HA_VERSION.split(".")[:2])
        return str(Path(test_location.filepath).parent / f"snapshots-ha-{release}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy with HA's serialiser, per HA release."""
    return snapshot.use_extension(_SnapshotsPerHAVersion)


@pytest.fixture(autouse=True)
def no_deprecated_use(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test in which HA reports Alicia using something it deprecated."""
    yield
    reports = [
        r.getMessage()
        for r in caplog.get_records("call")
        if r.levelno >= logging.WARNING
        and "deprecat" in r.getMessage().lower()
        and "alicia" in r.getMessage()
    ]
    assert not reports, reports


# A public address (example.com's), what a name resolves to unless a test says otherwise.
PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture
def dns(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[str] | OSError]:
    """HA's resolver, faked (tests have no DNS): a name answers what a test puts here, else a public address."""
    names: dict[str, list[str] | OSError] = {}

    async def getaddrinfo(
        host: str, port: int | None, **_: Any
    ) -> list[tuple[int, int, int, str, tuple[str, int]]]:
        answer = names.get(host, [PUBLIC_ADDRESS])
        if isinstance(answer, OSError):
            raise answer
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET,
             socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port or 0))
            for address in answer
        ]  # fmt: skip

    monkeypatch.setattr(hass.loop, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The Alicia entry's options; a test module overrides this fixture for others."""
    return {}


@pytest.fixture
async def entry(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entry_options: dict[str, Any]
) -> MockConfigEntry:
    """The Alicia config entry, set up on HA's MQTT integration (mqtt_mock)."""
    return await setup_alicia(hass, entry_options)


@pytest.fixture
async def play_media_calls(
    hass: HomeAssistant, entry: MockConfigEntry
) -> list[ServiceCall]:
    """A hall player exposed to Assist, play_media allowed for devices; its calls."""
    hass.states.async_set(HALL, "idle")
    async_expose_entity(hass, "conversation", HALL, True)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "allowed_actions": ["media_player.play_media"]}
    )
    await hass.async_block_till_done()
    calls: list[ServiceCall] = async_mock_service(hass, "media_player", "play_media")
    return calls


@pytest.fixture
async def wyoming_entry(
    hass: HomeAssistant, grok_server: ServerProcess, xai: FakeXai
) -> MockConfigEntry:
    """HA's Wyoming entry for our server, as Supervisor discovery adds it (not set up)."""
    host, port = grok_server.uri.removeprefix("tcp://").rsplit(":", 1)
    wyoming = MockConfigEntry(
        domain="wyoming",
        source="hassio",
        data={"host": host, "port": int(port)},
        title="Alicia",
    )
    wyoming.add_to_hass(hass)
    return wyoming


@pytest.fixture
async def agent_entry(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> MockConfigEntry:
    """Alicia set up after HA's conversations (as default_config has them): with its agent."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    return await setup_alicia(hass)


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Entities disabled by default (noisy health figures) are enabled, as HA core's tests do."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
async def sensor(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The kitchen sensor, approved (permit open); its Health entity's id."""
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, "kitchen_sensor_health_status"
    )
    assert entity_id is not None
    return entity_id


@dataclass
class RealBus:
    """Alicia on HA's real MQTT integration and a real Mosquitto."""

    hub: AliciaHub
    port: int


@pytest.fixture
def real_bus_options() -> dict[str, Any]:
    """The Alicia entry's options on the real bus; a module overrides this fixture for others."""
    return {}


@pytest.fixture
def real_bus_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """The real bus's Mosquitto: the test's own; a module whose tests can share one overrides this."""
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def real_bus(
    hass: HomeAssistant,
    socket_enabled: None,
    real_bus_broker: Mosquitto,
    mock_hass_config: None,
    real_bus_options: dict[str, Any],
) -> AsyncGenerator[RealBus]:
    """A real Mosquitto, HA's real MQTT integration, and Alicia on it."""
    log = real_bus_broker.log
    # A shared broker's log holds earlier tests' subscriptions: only this one's count.
    offset = log.stat().st_size
    mqtt_entry = await setup_real_mqtt(hass, real_bus_broker.port)
    alicia = await setup_alicia(hass, real_bus_options)
    # HA subscribes in a debounced batch: the broker's log says when it has them
    # (a message published before that would reach nobody, as it would in life).
    subscribed = b"alicia/integration/analytics/event (QoS 1)"
    await wait_until(lambda: subscribed in log.read_bytes()[offset:])
    yield RealBus(alicia.runtime_data, real_bus_broker.port)
    assert await hass.config_entries.async_unload(alicia.entry_id)
    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def stt_engine(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> AsyncIterator[StubStt]:
    """HA's Assist with the stub engines."""
    with mock_config_flow("stub_voice", StubFlow):
        yield await setup_voice(hass)


@pytest.fixture
async def voice_entry(hass: HomeAssistant, stt_engine: StubStt) -> MockConfigEntry:
    """Alicia on Assist, devices approved as they register."""
    return await setup_alicia(hass, {"approval": "auto"})


@pytest.fixture
async def satellite(
    hass: HomeAssistant, voice_entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> AsyncIterator[BusSatellite]:
    """The hall satellite, approved with its key."""
    await register_signed(hass, SATELLITE)
    yield BusSatellite(hass, mqtt_mock)
    # Speech HA made for a URL the device never fetched (an announcement, a
    # question) is HA's background work: done before the test's end is checked.
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def fake_server(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncIterator[Callable[..., Awaitable[MockConfigEntry]]]:
    """Start Wyoming servers that answer describe as the app, then a script; HA's entry for each."""
    servers = FakeServers(hass)
    yield servers.start
    await servers.close()
