"""The device simulator on a real broker: valid registrations, reports, and obeyed commands."""

from __future__ import annotations

import asyncio
import json

from alicia_bus.envelope import new_message, parse
from tests.conftest import Mosquitto
from wyoming_services.simulator import Simulator

from .client import bus_client


async def test_simulator_registers_reports_and_obeys(mosquitto: Mosquitto) -> None:
    simulator = Simulator("127.0.0.1", mosquitto.port, interval=0.2)
    task = asyncio.create_task(simulator.run())
    try:
        await asyncio.wait_for(simulator.ready.wait(), 10)
        async with bus_client(mosquitto.port, "alicia/#") as client:
            for device_id in simulator.devices:
                topic = f"alicia/system/discovery/register/{device_id}"
                registration = await client.wait_for(lambda m: True, topic=topic)
                parse(topic, json.dumps(registration).encode())  # valid by the contract
            data = await client.wait_for(lambda m: "temperature" in m["payload"].get("values", {}),
                                         topic="alicia/devices/sim_living_climate/data")  # fmt: skip
            assert 15 < data["payload"]["values"]["temperature"] < 30
            heartbeat = await client.wait_for(lambda m: m["payload"].get("device_id") == "sim_hall_motion",
                                              topic="alicia/system/health/heartbeat")  # fmt: skip
            parse("alicia/system/health/heartbeat", json.dumps(heartbeat).encode())

            command = new_message(
                "home-assistant",
                "command",
                {
                    "capability": "light",
                    "action": "turn_on",
                    "params": {"brightness": 99},
                },
            )
            await client.publish("alicia/devices/sim_kitchen_light/command", command)
            report = await client.wait_for(
                lambda m: (
                    m["payload"].get("values", {}).get("light", {}).get("state") == "on"
                ),
                topic="alicia/devices/sim_kitchen_light/data",
            )
            assert report["payload"]["values"]["light"]["brightness"] == 99
            await client.publish(
                "alicia/devices/sim_kitchen_light/command", b"{garbage"
            )
            volume = new_message(
                "home-assistant",
                "command",
                {
                    "capability": "volume_control",
                    "action": "set",
                    "params": {"value": 55},
                },
            )
            await client.publish("alicia/devices/sim_kitchen_speaker/command", volume)
            await client.wait_for(lambda m: m["payload"].get("values", {}).get("volume_control") == 55,
                                  topic="alicia/devices/sim_kitchen_speaker/data")  # fmt: skip
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
