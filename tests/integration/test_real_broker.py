"""Through HA's real MQTT integration and a real Mosquitto: a device joins, reports, obeys."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.alicia.const import DOMAIN
from tests.bus.client import bus_client
from tests.conftest import Mosquitto, wait_until

from .helpers import message, setup_alicia, setup_real_mqtt

pytestmark = pytest.mark.slow

PLUG = {
    "device_id": "desk_plug",
    "device_type": "actuator",
    "name": "Desk plug",
    "capabilities": ["switch", "power"],
    "metadata": {"manufacturer": "Acme", "model": "Plug", "location": "office"},
    "heartbeat_interval": 30,
}


async def test_device_joins_reports_and_obeys(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path, mock_hass_config: None
) -> None:
    broker = Mosquitto(tmp_path / "broker")
    await hass.async_add_executor_job(broker.start)
    try:
        mqtt_entry = await setup_real_mqtt(hass, broker.port)

        alicia = await setup_alicia(hass)
        hub = alicia.runtime_data
        hub.approvals.set_permit(True)  # the user opened "permit new devices"

        async with bus_client(
            broker.port, "alicia/devices/desk_plug/command"
        ) as device:
            await device.publish(
                "alicia/system/discovery/register/desk_plug",
                json.loads(message("desk_plug", PLUG)),
                retain=True,
            )
            await wait_until(lambda: "desk_plug" in hub.roster.devices)
            registry = er.async_get(hass)
            await wait_until(
                lambda: (
                    registry.async_get_entity_id("switch", DOMAIN, "desk_plug_switch")
                    is not None
                )
            )
            switch = registry.async_get_entity_id("switch", DOMAIN, "desk_plug_switch")
            power = registry.async_get_entity_id("sensor", DOMAIN, "desk_plug_power")
            assert switch is not None
            assert power is not None

            # Like a real device, it reports periodically: a report sent before HA's
            # subscription reached the broker is simply superseded by the next one.
            async with asyncio.timeout(10):
                while (s := hass.states.get(power)) is None or s.state != "3.5":
                    await device.publish(
                        "alicia/devices/desk_plug/data",
                        json.loads(
                            message(
                                "desk_plug", {"values": {"switch": "off", "power": 3.5}}
                            )
                        ),
                    )
                    await asyncio.sleep(0.3)
            assert hass.states.get(switch).state == "off"  # type: ignore[union-attr]

            await hass.services.async_call(
                "switch", "turn_on", {"entity_id": switch}, blocking=True
            )
            # The approval's request for a report may come first, on the same topic.
            command = await device.wait_for(
                lambda m: m["payload"].get("action") != "report",
                topic="alicia/devices/desk_plug/command",
                limit=10,
            )
            assert command["message_type"] == "command"
            assert command["source"] == "home-assistant"
            assert command["payload"] == {
                "capability": "switch",
                "action": "turn_on",
                "params": {},
            }

        assert await hass.config_entries.async_unload(alicia.entry_id)
        assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await hass.async_add_executor_job(broker.stop)
