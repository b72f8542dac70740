"""What signatures cost: the integration's ingest path and the bridge's request round trip.

Run: `.venv/bin/python bench/security.py`. Part 1 runs the integration's own parsing and
security check in-process on 20,000 data messages, unsigned then signed. Part 2 starts
Mosquitto, a fake xAI API and a bridge, and times ai/request round trips with unsigned
and signed requests, interleaved (a signed request is verified by the bridge, and its
signed answer is verified by the client, as a careful device does).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alicia_bus.envelope import (
    new_message,
    parse,
)
from alicia_bus.limits import ReplayWindow
from alicia_bus.policy import Mode, check
from alicia_bus.signing import KeyPair, verify
from bench.bus import pct, port, start_broker
from tests.bus.client import BusClient, bus_client
from tests.fake_xai import FakeXai

TOPIC = "alicia/devices/kitchen_sensor/data"


def ingest(count: int, key: KeyPair | None) -> float:
    """Messages a second through parse + the security check (verify mode)."""
    raws = []
    for index in range(count):
        message = new_message(
            "kitchen_sensor", "event", {"values": {"temperature": 20 + index / 100}}
        )
        if key is not None:
            key.sign(TOPIC, message)
        raws.append(json.dumps(message).encode())
    window = ReplayWindow()
    public = key.public_key if key is not None else None
    started = time.perf_counter()
    for raw in raws:
        read = parse(TOPIC, raw, "alicia")
        check(
            TOPIC, read.raw, mode=Mode.VERIFY, key=public, window=window,
            sent=read.timestamp, now=datetime.now(UTC),
        )  # fmt: skip
    return count / (time.perf_counter() - started)


async def round_trip(
    client: BusClient, key: KeyPair | None, bridge_key: str | None
) -> float:
    # Unsigned requests come from a sender without an approved key: one with a key
    # must sign, and would be refused without being served.
    source = "bench_device" if key is not None else "bench_guest"
    message = new_message(source, "request", {"text": "Quick?"})
    topic = "alicia/voice/ai/request"
    started = time.perf_counter()
    if key is not None:
        key.sign(topic, message)
    await client.publish(topic, message)
    answer = await client.answer_to(message["message_id"], limit=60)
    if key is not None and bridge_key is not None:
        verify("alicia/voice/ai/response", answer, bridge_key)
    return time.perf_counter() - started


async def bridge_latency(runs: int) -> tuple[list[float], list[float]]:
    work = Path(tempfile.mkdtemp(prefix="alicia-security-bench-"))
    mqtt_port = port()
    broker = start_broker(work, mqtt_port)
    fake = FakeXai(port())
    fake.wait_ready()
    bridge = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, "-m", "wyoming_services", "--uri", f"tcp://127.0.0.1:{port()}",
         "--mqtt-host", "127.0.0.1", "--mqtt-port", str(mqtt_port), "--bridge-id", "bench-bridge",
         "--grok-base-url", fake.base_url, "--log-level", "warning",
         "--rate-limit", "100000", "--rate-burst", "100000"],
        env={**os.environ, "ALICIA_GROK_API_KEY": "bench-key",
             "ALICIA_SECURITY_KEY_FILE": str(work / "bridge.pem")},
    )  # fmt: skip
    device, hub = KeyPair.generate(), KeyPair.generate()
    plain: list[float] = []
    signed: list[float] = []
    try:
        async with bus_client(
            mqtt_port,
            "alicia/voice/ai/response",
            "alicia/system/discovery/register/bench-bridge",
        ) as client:
            registration = await client.wait_for(lambda m: True, limit=120)
            bridge_key = registration["payload"]["public_key"]
            for topic, payload in (
                ("alicia/system/security/hub", {"public_key": hub.public_key}),
                ("alicia/system/security/trust",
                 {"mode": "verify", "devices": {"bench_device": device.public_key}}),
            ):  # fmt: skip
                message = hub.sign(
                    topic, new_message("home-assistant", "event", payload)
                )
                await client.publish(topic, message, retain=True)
            await asyncio.sleep(0.5)
            for _ in range(20):  # warm-up
                await round_trip(client, None, None)
                await round_trip(client, device, bridge_key)
            for _ in range(runs):
                plain.append(await round_trip(client, None, None))
                signed.append(await round_trip(client, device, bridge_key))
    finally:
        bridge.terminate()
        bridge.wait()
        fake.stop()
        broker.terminate()
        broker.wait()
    return plain, signed


def main() -> None:
    count = 20_000
    unsigned_rate = max(ingest(count, None) for _ in range(3))
    signed_rate = max(ingest(count, KeyPair.generate()) for _ in range(3))
    plain, signed = asyncio.run(bridge_latency(300))

    def ms(values: list[float], q: float) -> str:
        return f"{pct(values, q) * 1000:.2f}"

    print("| measure | unsigned | signed | ratio |")
    print("|---|---|---|---|")
    print(
        f"| integration ingest (parse + check), messages/s | {unsigned_rate:,.0f} | "
        f"{signed_rate:,.0f} | {signed_rate / unsigned_rate:.2f}× |"
    )
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        print(
            f"| bridge ai/request round trip {label}, ms | {ms(plain, q)} | {ms(signed, q)} | "
            f"{pct(signed, q) / pct(plain, q):.2f}× |"
        )


if __name__ == "__main__":
    main()
