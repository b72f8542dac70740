"""What one round of Grok's home tools adds on top of the model's own time.

Run: `.venv/bin/python bench/grok_tools.py [--runs N]` (on one core:
`taskset -c 0 .venv/bin/python bench/grok_tools.py`). Starts Mosquitto, the fake
xAI API (Responses format, 200 ms before each response's first event), our server
with its bridge, and a stand-in for HA on the bus (it publishes one exposed state
and answers every ha/command "done", as the integration does after its checks).
Each run asks through the Wyoming handle program, as HA's agent does: a plain
question, one that makes the model call list_entities, one that makes it call
call_action, and the model directly (one request). A tool round costs the model a
second request; what the tool round adds beyond that is
`tool question - plain question - one direct request`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import aiomqtt
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wyoming.asr import Transcript
from wyoming.client import AsyncClient

from alicia_bus.envelope import new_message
from alicia_bus.topics import HUB_SOURCE
from bench.bus import pct, port, start_broker
from tests.fake_xai import FakeXai
from tests.wyoming.client import describe

STATE = {
    "entity_id": "sensor.living_room_temperature", "state": "21.5", "area": "Living room",
    "attributes": {"friendly_name": "Living room temperature", "unit_of_measurement": "°C"},
    "last_changed": "2026-11-27T12:00:00+00:00",
}  # fmt: skip
READ = {"name": "list_entities", "arguments": {"area": "living room"}}
ACT = {"name": "call_action",
       "arguments": {"action": "light.turn_off", "entity_id": ["light.kitchen"]}}  # fmt: skip


async def stand_in_for_ha(mqtt_port: int) -> None:
    """One exposed state, retained; every command answered done."""
    async with aiomqtt.Client("127.0.0.1", mqtt_port) as client:
        topic = f"alicia/integration/ha/state/{STATE['entity_id']}"
        message = new_message(HUB_SOURCE, "event", STATE)
        await client.publish(topic, json.dumps(message), qos=1, retain=True)
        await client.subscribe("alicia/integration/ha/command", qos=1)
        async for received in client.messages:
            request = json.loads(bytes(received.payload))
            answer = new_message(
                HUB_SOURCE, "response", {"status": "done"},
                destination=request["source"], correlation_id=request["message_id"],
            )  # fmt: skip
            await client.publish(request["reply_to"], json.dumps(answer), qos=1)


async def ask(uri: str, question: str) -> tuple[float, str]:
    """Seconds until `handled`, and its text (the handle program, as HA's agent asks)."""
    async with AsyncClient.from_uri(uri) as client:
        started = time.perf_counter()
        await client.write_event(Transcript(text=question).event())
        while (received := await client.read_event()) is not None:
            if received.type == "handled":
                return time.perf_counter() - started, str(received.data.get("text"))
    raise ConnectionError("no answer")


async def direct(client: httpx.AsyncClient) -> float:
    """One Responses request to the model itself, read to its end."""
    body = {"model": "grok-test-fast", "stream": True, "input": [
        {"role": "user", "content": "What is the temperature in the living room?"}]}  # fmt: skip
    started = time.perf_counter()
    async with client.stream("POST", "/responses", json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: response.completed"):
                break
    return time.perf_counter() - started


async def measure(uri: str, fake: FakeXai, runs: int) -> dict[str, list[float]]:
    """Seconds per question kind, run after run, after a warm-up."""
    times: dict[str, list[float]] = {"plain": [], "read": [], "act": [], "direct": []}
    async with httpx.AsyncClient(base_url=fake.base_url) as model:
        for run in range(-3, runs):
            fake.configure(first_token_delay=0.2)
            plain, _ = await ask(uri, "Tell me something nice.")
            one_request = await direct(model)
            fake.configure(first_token_delay=0.2, tool_calls=[READ])
            read, said = await ask(uri, "What is the temperature in the living room?")
            assert 'is "21.5 °C"' in said, said
            fake.configure(first_token_delay=0.2, tool_calls=[ACT])
            act, said = await ask(uri, "Turn off the kitchen light.")
            assert "done: light.turn_off on light.kitchen" in said, said
            if run >= 0:
                for kind, value in (("plain", plain), ("read", read), ("act", act),
                                    ("direct", one_request)):  # fmt: skip
                    times[kind].append(value)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alicia-bench-tools-"))
    mqtt_port, wyoming_port = port(), port()
    broker = start_broker(work, mqtt_port)
    fake = FakeXai(port())
    fake.wait_ready()
    uri = f"tcp://127.0.0.1:{wyoming_port}"
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, "-m", "wyoming_services", "--uri", uri,
         "--grok-base-url", fake.base_url, "--grok-api", "responses",
         "--grok-model", "grok-test-fast", "--no-grok-include-datetime",
         "--mqtt-host", "127.0.0.1", "--mqtt-port", str(mqtt_port),
         "--bridge-id", "bench-bridge", "--security-mode", "off", "--log-level", "warning"],
        env={**os.environ, "ALICIA_GROK_API_KEY": "bench-key",
             "ALICIA_SECURITY_KEY_FILE": str(work / "bridge.pem")},
    )  # fmt: skip
    ha = asyncio.create_task(stand_in_for_ha(mqtt_port))
    try:
        for _ in range(600):
            try:
                await describe(uri)
                break
            except OSError:
                await asyncio.sleep(0.05)
        # Tools are offered once the bridge (started after the models load) has
        # HA's states.
        fake.configure(tool_calls=[READ])
        for _ in range(600):
            if "21.5" in (await ask(uri, "Is it warm?"))[1]:
                break
            await asyncio.sleep(0.1)
        times = await measure(uri, fake, args.runs)
    finally:
        ha.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await ha
        server.terminate()
        server.wait()
        fake.stop()
        broker.terminate()
        broker.wait()
    report(times)


def report(times: dict[str, list[float]]) -> None:
    """The table for docs/benchmarks.md."""

    def ms(values: list[float], q: float) -> str:
        return f"{pct(values, q) * 1000:.1f}"

    print("| question | p50 / p99 (ms) | added by the tool round, p50 / p99 (ms) |")
    print("|---|---|---|")
    for kind, label in (("direct", "the model alone (one request)"),
                        ("plain", "plain question (one request)")):  # fmt: skip
        print(f"| {label} | {ms(times[kind], 0.5)} / {ms(times[kind], 0.99)} | |")
    for kind, label in (("read", "list_entities, then the answer"),
                        ("act", "call_action through the bus, then the answer")):  # fmt: skip
        added = [
            t - p - d
            for t, p, d in zip(
                times[kind], times["plain"], times["direct"], strict=True
            )
        ]
        print(
            f"| {label} (two requests) | {ms(times[kind], 0.5)} / {ms(times[kind], 0.99)}"
            f" | **{ms(added, 0.5)} / {ms(added, 0.99)}** |"
        )


if __name__ == "__main__":
    asyncio.run(main())
