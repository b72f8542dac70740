"""Attack through a real Mosquitto: a reply_to the broker refuses must not cost HA its connection."""

from __future__ import annotations

import asyncio
import json

from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.core import HomeAssistant
import pytest

from tests.bus.client import bus_client

from .conftest import RealBus
from .helpers import message

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("topic_end", ["\u0001x", "\u0085", "\ufffe"])
async def test_a_strangers_reply_to_does_not_disconnect_home_assistant(
    hass: HomeAssistant, real_bus: RealBus, topic_end: str
) -> None:
    """The attack: one unsigned request whose reply_to Mosquitto takes as a malformed packet."""
    client = hass.data[DATA_MQTT].client
    request = message(
        "stranger",
        {"action": "light.turn_on", "target": {"entity_id": "light.x"}},
        "request",
        reply_to=f"alicia/devices/stranger/replies/{topic_end}",
    )
    async with bus_client(real_bus.port) as stranger:
        await stranger.publish("alicia/integration/ha/command", json.loads(request))
        await asyncio.sleep(1.0)  # Mosquitto drops the publisher at once
        assert client.connected
