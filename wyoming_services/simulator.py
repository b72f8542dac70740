"""A few simulated alicia devices, to try Alicia without hardware: `python -m wyoming_services.simulator`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
import json
import logging
import random
import socket
import sys
from typing import Any

import aiomqtt

from alicia_bus.commands import is_report
from alicia_bus.envelope import new_message
from alicia_bus.errors import ProtocolError
from alicia_bus.speaker import PLAYBACK, Action, Playback, PlaybackCommand, State

_LOGGER = logging.getLogger(__name__)
# How long a simulated speaker "plays" what it is sent (it does not fetch it).
PLAY_SECONDS = 3.0
# Every value again each 30 s (at the default 5 s interval): a receiver that missed
# one (HA restarted; the broker keeps no data messages) does not wait for a change.
FULL_REPORT_TICKS = 6


@dataclass
class SimulatedDevice:
    """One device: its capability document and its current values."""

    document: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def device_id(self) -> str:
        """The device's id."""
        return str(self.document["device_id"])

    def drift(self, rng: random.Random) -> dict[str, Any]:
        """The values that change by themselves this tick."""
        changed: dict[str, Any] = {}
        if "temperature" in self.values:
            self.values["temperature"] = round(
                self.values["temperature"] + rng.uniform(-0.2, 0.2), 2
            )
            self.values["humidity"] = round(
                min(90, max(20, self.values["humidity"] + rng.uniform(-1, 1))), 1
            )
            changed |= {
                "temperature": self.values["temperature"],
                "humidity": self.values["humidity"],
            }
        if "motion" in self.values:
            self.values["motion"] = rng.random() < 0.2
            self.values["illuminance"] = round(
                max(0.0, self.values["illuminance"] + rng.uniform(-20, 20)), 1
            )
            changed |= {
                "motion": self.values["motion"],
                "illuminance": self.values["illuminance"],
            }
        return changed

    def obey(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a command; the values to report back (empty if it made no sense)."""
        if is_report(payload):
            return dict(self.values)
        capability, action = payload.get("capability"), payload.get("action")
        params = payload.get("params") or {}
        if capability not in self.values and capability not in {"identify"}:
            return {}
        if capability == "light":
            light = dict(self.values["light"])
            if action == "turn_off":
                light["state"] = "off"
            elif action == "turn_on":
                light["state"] = "on"
                for key in ("brightness", "color_temp_kelvin"):
                    if key in params:
                        light[key] = params[key]
            self.values["light"] = light
            return {"light": light}
        if capability == "volume_control" and action == "set":
            self.values["volume_control"] = max(
                0, min(100, float(params.get("value", 0)))
            )
            return {"volume_control": self.values["volume_control"]}
        if capability == "identify" and action == "press":
            _LOGGER.info("%s blinks to identify itself", self.device_id)
        if capability == PLAYBACK:
            return self._play(payload)
        return {}

    def _play(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            command = PlaybackCommand.parse(payload)
        except ProtocolError as err:
            _LOGGER.warning("%s refuses %s: %s", self.device_id, payload, err)
            return {}
        now = Playback.read(self.values[PLAYBACK])
        state, url, muted = now.state, now.media_url, now.muted
        if command.action is Action.PLAY_MEDIA:
            _LOGGER.info("%s plays %s", self.device_id, command.url)
            state, url = State.PLAYING, command.url
        elif command.action is Action.MUTE:
            muted = command.muted
        elif command.action is Action.STOP:
            state, url = State.IDLE, None
        elif state is not State.IDLE:
            state = State.PAUSED if command.action is Action.PAUSE else State.PLAYING
        self.values[PLAYBACK] = Playback(state, muted, url).value
        return {PLAYBACK: self.values[PLAYBACK]}

    def finish_playing(self, url: str) -> dict[str, Any]:
        """The clip at url has ended: idle again, unless something else plays now."""
        now = Playback.read(self.values.get(PLAYBACK))
        if now.media_url != url or now.state is not State.PLAYING:
            return {}
        self.values[PLAYBACK] = Playback(State.IDLE, now.muted).value
        return {PLAYBACK: self.values[PLAYBACK]}


def devices() -> list[SimulatedDevice]:
    """The simulated home."""
    return [
        SimulatedDevice(
            {"device_id": "sim_living_climate", "device_type": "sensor", "name": "Living room climate",
             "capabilities": ["temperature", "humidity", "battery"],
             "metadata": {"manufacturer": "Alicia simulator", "model": "TH-1", "location": "living_room", "version": "1.0.0"},
             "heartbeat_interval": 10},
            {"temperature": 21.0, "humidity": 45.0, "battery": 87},
        ),
        SimulatedDevice(
            {"device_id": "sim_hall_motion", "device_type": "sensor", "name": "Hall motion",
             "capabilities": ["motion", "illuminance"],
             "metadata": {"manufacturer": "Alicia simulator", "model": "PIR-2", "location": "hall", "version": "1.0.0"},
             "heartbeat_interval": 10},
            {"motion": False, "illuminance": 120.0},
        ),
        SimulatedDevice(
            {"device_id": "sim_kitchen_light", "device_type": "actuator", "name": "Kitchen light",
             "capabilities": [{"name": "light", "parameters": {"brightness": True, "color_temp": True}}, "identify"],
             "metadata": {"manufacturer": "Alicia simulator", "model": "Bulb", "location": "kitchen", "version": "1.0.0"},
             "heartbeat_interval": 10},
            {"light": {"state": "off", "brightness": 180, "color_temp_kelvin": 3000}},
        ),
        SimulatedDevice(
            {"device_id": "sim_kitchen_speaker", "device_type": "speaker", "name": "Kitchen speaker",
             "capabilities": ["audio_playback", {"name": "volume_control", "parameters": {"min": 0, "max": 100}}, "announce"],
             "metadata": {"manufacturer": "Alicia simulator", "model": "Sonos-like", "location": "kitchen", "version": "1.0.0"},
             "heartbeat_interval": 10},
            {"volume_control": 30.0, "audio_playback": {"state": "idle", "muted": False}},
        ),
        SimulatedDevice(
            {"device_id": "sim_hall_button", "device_type": "controller", "name": "Hall button",
             "capabilities": [{"name": "button", "parameters": {"events": ["press", "double_press", "long_press"]}}],
             "metadata": {"manufacturer": "Alicia simulator", "model": "Button", "location": "hall", "version": "1.0.0"},
             "heartbeat_interval": 10},
            {},
        ),
    ]  # fmt: skip


class Simulator:
    """Runs all the devices on one MQTT connection.

    A connection has one last will: it marks the first device offline; the others
    go unavailable in HA when their heartbeats stop.
    """

    def __init__(
        self,
        host: str,
        port: int,
        prefix: str = "alicia",
        interval: float = 5.0,
        seed: int = 1,
    ) -> None:
        """Where to connect and how often to report."""
        self.host, self.port, self.prefix, self.interval = host, port, prefix, interval
        self.devices = {d.device_id: d for d in devices()}
        self.rng = random.Random(seed)
        self.ready = asyncio.Event()
        self.play_seconds = PLAY_SECONDS
        self._tasks: set[asyncio.Task[None]] = set()

    async def _send(
        self,
        client: aiomqtt.Client,
        topic: str,
        source: str,
        payload: dict[str, Any],
        retain: bool = False,
    ) -> None:
        message = new_message(source, "event", payload)
        await client.publish(
            f"{self.prefix}/{topic}", json.dumps(message).encode(), qos=1, retain=retain
        )

    async def run(self) -> None:
        """Register, then report, heartbeat and obey until cancelled."""
        will_payload = {"state": "offline"}
        first = next(iter(self.devices))
        will = aiomqtt.Will(
            f"{self.prefix}/devices/{first}/status",
            json.dumps(new_message(first, "event", will_payload)).encode(),
            qos=1,
            retain=True,
        )
        async with aiomqtt.Client(
            self.host, self.port, will=will, identifier=f"alicia-simulator-{socket.gethostname()}",
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        ) as client:  # fmt: skip
            await client.subscribe(f"{self.prefix}/devices/+/command", qos=1)
            for device in self.devices.values():
                await self._send(
                    client,
                    f"system/discovery/register/{device.device_id}",
                    device.device_id,
                    device.document,
                    retain=True,
                )
                await self._send(
                    client,
                    f"devices/{device.device_id}/status",
                    device.device_id,
                    {"state": "online"},
                    retain=True,
                )
            self.ready.set()
            _LOGGER.info(
                "Simulating %s on %s:%s", ", ".join(self.devices), self.host, self.port
            )
            ticker = asyncio.create_task(self._tick(client))
            try:
                async for message in client.messages:
                    await self._on_command(client, str(message.topic), message.payload)
            finally:
                for task in (ticker, *self._tasks):
                    task.cancel()
                await asyncio.gather(ticker, *self._tasks, return_exceptions=True)

    async def _tick(self, client: aiomqtt.Client) -> None:
        count = 0
        while True:
            for device in self.devices.values():
                changed = device.drift(self.rng) if count else {}
                values = device.values if count % FULL_REPORT_TICKS == 0 else changed
                if values:
                    await self._send(
                        client,
                        f"devices/{device.device_id}/data",
                        device.device_id,
                        {"values": values},
                    )
                await self._send(client, "system/health/heartbeat", device.device_id, {
                    "device_id": device.device_id, "status": "healthy", "interval": device.document["heartbeat_interval"],
                    "metrics": {"cpu_usage": round(self.rng.uniform(1, 8), 1), "memory_usage": round(self.rng.uniform(20, 30), 1),
                                "response_time": round(self.rng.uniform(5, 30), 1), "error_rate": 0.0},
                })  # fmt: skip
            count += 1
            await asyncio.sleep(self.interval)

    async def _on_command(self, client: aiomqtt.Client, topic: str, raw: Any) -> None:
        device_id = topic.split("/")[-2]
        device = self.devices.get(device_id)
        try:
            payload = json.loads(raw)["payload"]
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("Ignoring a malformed command on %s", topic)
            return
        if device is None:
            return
        _LOGGER.info("%s got %s", device_id, payload)
        if changed := device.obey(payload):
            await self._send(
                client, f"devices/{device_id}/data", device_id, {"values": changed}
            )
        if url := Playback.read(changed.get(PLAYBACK)).media_url:
            self._tasks.add(
                task := asyncio.create_task(self._finish(client, device, url))
            )
            task.add_done_callback(self._tasks.discard)

    async def _finish(
        self, client: aiomqtt.Client, device: SimulatedDevice, url: str
    ) -> None:
        await asyncio.sleep(self.play_seconds)
        if changed := device.finish_playing(url):
            await self._send(
                client, f"devices/{device.device_id}/data", device.device_id,
                {"values": changed},
            )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """`python -m wyoming_services.simulator --mqtt-host HOST --mqtt-port PORT`."""
    parser = argparse.ArgumentParser(
        prog="python -m wyoming_services.simulator", description=__doc__
    )
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--topic-prefix", default="alicia")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between reports"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    simulator = Simulator(
        args.mqtt_host, args.mqtt_port, args.topic_prefix, args.interval
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(simulator.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
