"""Through HA's real MQTT and a real Mosquitto: what the bridges read outlives the broker's loss."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest

from tests.bus.client import bus_client
from tests.conftest import Mosquitto, wait_until

from .helpers import setup_alicia, setup_real_mqtt

pytestmark = pytest.mark.slow
# What a bridge needs from HA, kept by the broker.
KEPT = (
    "alicia/system/security/hub",
    "alicia/system/security/trust",
    "alicia/voice/stt/vocabulary",
)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker not started yet; HA reconnects to it within a fraction of a second."""
    broker = Mosquitto(tmp_path / "broker")
    with patch("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 0.2):
        yield broker
    broker.stop()


async def wait_for_kept(port: int) -> None:
    """Until the broker holds everything of KEPT (a bridge subscribing now gets it)."""
    async with bus_client(port, *KEPT) as client:
        await wait_until(lambda: all(client.messages[topic] for topic in KEPT), 20)


async def test_a_broker_that_lost_its_copies_gets_them_again(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, broker: Mosquitto
) -> None:
    await hass.async_add_executor_job(broker.start)
    await setup_real_mqtt(hass, broker.port)
    await setup_alicia(hass)
    await wait_for_kept(broker.port)
    await hass.async_add_executor_job(broker.stop)
    for kept in broker.directory.glob("*.db"):
        kept.unlink()  # a broker without persistence, or a new one
    await hass.async_add_executor_job(broker.start)
    await wait_for_kept(broker.port)


async def test_ha_starting_while_the_broker_is_down_sends_all_once_it_is_up(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, broker: Mosquitto
) -> None:
    await setup_real_mqtt(hass, broker.port)  # nobody listens there yet
    alicia = await setup_alicia(hass)
    assert alicia.state is ConfigEntryState.LOADED
    await hass.async_add_executor_job(broker.start)
    await wait_until(lambda: mqtt.is_connected(hass), 20)
    await wait_for_kept(broker.port)
