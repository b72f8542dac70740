"""The device simulator on a real broker: valid registrations, reports, and obeyed commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
from typing import Any

from alicia_bus.commands import report_request
from alicia_bus.envelope import new_message, parse
from alicia_bus.speaker import Action, PlaybackCommand
from tests.conftest import Mosquitto
from wyoming_services.simulator import Simulator, devices

from .client import bus_client


async def test_simulator_registers_reports_and_obeys(mosquitto: Mosquitto) -> None:
    simulator = Simulator("127.0.0.1", mosquitto.port, interval=0.2)
    simulator.play_seconds = 0.3
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

            # The speaker plays what it is sent (docs/protocol.md, Speakers), then is idle.
            def playback(state: str) -> Callable[[dict[str, Any]], bool]:
                return lambda m: (
                    m["payload"]
                    .get("values", {})
                    .get("audio_playback", {})
                    .get("state")
                    == state
                )

            speaker = "alicia/devices/sim_kitchen_speaker"
            bad = PlaybackCommand.play_media("http://ha/a.mp3").payload | {
                "params": {"url": "x"}
            }
            await client.publish(
                f"{speaker}/command", new_message("home-assistant", "command", bad)
            )
            play = PlaybackCommand.play_media("http://ha/a.mp3", announce=True)
            await client.publish(
                f"{speaker}/command",
                new_message("home-assistant", "command", play.payload),
            )
            playing = await client.wait_for(
                playback("playing"), topic=f"{speaker}/data"
            )
            assert (
                playing["payload"]["values"]["audio_playback"]["media_url"]
                == "http://ha/a.mp3"
            )
            await client.wait_for(playback("idle"), topic=f"{speaker}/data")
            for step in (
                PlaybackCommand.play_media("http://ha/b.mp3"),
                PlaybackCommand(Action.PAUSE),
                PlaybackCommand(Action.RESUME),
                PlaybackCommand(Action.MUTE, muted=True),
                PlaybackCommand(Action.STOP),
            ):
                await client.publish(
                    f"{speaker}/command",
                    new_message("home-assistant", "command", step.payload),
                )
            stopped = await client.wait_for(
                lambda m: (
                    m["payload"].get("values", {}).get("audio_playback")
                    == {"state": "idle", "muted": True}
                ),
                topic=f"{speaker}/data",
            )
            assert stopped
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_simulated_device_reports_every_value_when_asked() -> None:
    """HA's report command on approval: every value, not only those a command changed."""
    for device in devices():
        assert device.obey(report_request()) == device.values
