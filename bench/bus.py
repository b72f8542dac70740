"""Bus benchmark through a real Mosquitto on loopback: request round trips, the voice route, sustained rate.

Run: `.venv/bin/python bench/bus.py`. Starts its own broker, fake xAI API (answering
at once) and one bridge (our server with --mqtt-host).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alicia_bus.audio import encode_audio
from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from tests.bus.client import BusClient, bus_client, publish_trust
from tests.fake_xai import FakeXai
from tests.wyoming.client import describe, synthesize

ROUTE = "alicia/voice/command/route"
# The benchmark's Home Assistant and its approved satellite.
HUB = KeyPair.generate()
SATELLITE = KeyPair.generate()


def signed_route(audio: dict[str, str]) -> dict[str, Any]:
    """A route request from the approved satellite, signed with its key."""
    message = new_message("bench-satellite", "request", {"audio": audio})
    return SATELLITE.sign(ROUTE, message)


def port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        number: int = sock.getsockname()[1]
        return number


def start_broker(
    work: Path, mqtt_port: int, nodelay: bool = True
) -> subprocess.Popen[bytes]:
    """Mosquitto on 127.0.0.1:mqtt_port, anonymous, its config in work."""
    (work / "mosquitto.conf").write_text(
        f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\n"
        + ("set_tcp_nodelay true\n" if nodelay else "")
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return subprocess.Popen([mosquitto, "-c", str(work / "mosquitto.conf")])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed_request(
    client: BusClient, topic: str, payload: dict[str, object]
) -> float:
    message = new_message("bench-device", "request", payload)
    started = time.perf_counter()
    await client.publish(topic, message)
    await client.answer_to(message["message_id"], limit=60)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--nagle",
        action="store_true",
        help="leave Mosquitto's set_tcp_nodelay at its default (off)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alicia-bus-bench-"))
    mqtt_port, wyoming_port = port(), port()
    broker = start_broker(work, mqtt_port, nodelay=not args.nagle)
    fake = FakeXai(port())
    fake.wait_ready()
    uri = f"tcp://127.0.0.1:{wyoming_port}"
    bridge = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, "-m", "wyoming_services", "--uri", uri, "--mqtt-host", "127.0.0.1",
         "--mqtt-port", str(mqtt_port), "--bridge-id", "bench-bridge", "--grok-base-url", fake.base_url,
         "--grok-model", "grok-test-fast", "--bridge-max-concurrent", "8", "--log-level", "warning",
         # One client stands for every device here: the per-sender limit would cap the load test.
         "--rate-limit", "100000", "--rate-burst", "100000"],
        env={**os.environ, "ALICIA_GROK_API_KEY": "bench-key",
             "ALICIA_SECURITY_KEY_FILE": str(work / "bridge.pem")},
    )  # fmt: skip
    try:
        for _ in range(400):
            try:
                await describe(uri)
                break
            except OSError:
                await asyncio.sleep(0.05)
        command = await synthesize(uri, "Turn on the kitchen light please.")
        pcm = bytes(int(0.3 * command.rate) * 2) + command.pcm
        pcm += bytes(max(0, int(2.0 * command.rate) * 2 - len(pcm)))  # a 2 s command
        audio = encode_audio(pcm, command.rate)
        async with bus_client(
            mqtt_port,
            "alicia/voice/#",
            "alicia/devices/speakers/announce",
            "alicia/devices/bench-bridge/status",
        ) as client:
            await client.wait_for(
                lambda m: m["payload"].get("state") == "online", limit=120
            )
            # The satellite is approved and signs, as one whose answers are
            # announced in its room must (the route speaks with its authority).
            await publish_trust(
                client, HUB, "verify", {"bench-satellite": SATELLITE.public_key}
            )
            for _ in range(5):  # warm-up
                await timed_request(
                    client, "alicia/voice/ai/request", {"text": "Warm up?"}
                )
                warm = signed_route(audio)
                await client.publish(ROUTE, warm)
                await client.answer_to(warm["message_id"], limit=60)

            ai = [
                await timed_request(
                    client, "alicia/voice/ai/request", {"text": "Quick?"}
                )
                for _ in range(args.runs)
            ]

            route: list[float] = []
            # The warm-up's announcements are not the measured ones.
            seen.extend(client.messages["alicia/devices/speakers/announce"])
            for _ in range(args.runs // 2):
                message = signed_route(audio)
                started = time.perf_counter()
                await client.publish(ROUTE, message)
                await client.wait_for(
                    lambda m: (
                        m["payload"].get("target") == {"device_id": "bench-satellite"}
                        and m not in seen
                    ),
                    topic="alicia/devices/speakers/announce",
                    limit=60,
                )
                route.append(time.perf_counter() - started)
                seen.extend(client.messages["alicia/devices/speakers/announce"])

            baseline = pct(ai, 0.5)
            rates: list[tuple[float, float]] = []
            for rate in (50, 100, 200, 400, 800, 1600):
                latencies: list[float] = []

                async def one(latencies: list[float] = latencies) -> None:
                    latencies.append(
                        await timed_request(
                            client, "alicia/voice/ai/request", {"text": "Load?"}
                        )
                    )

                tasks = []
                began = time.perf_counter()
                count = rate * 2  # two seconds at this rate
                for index in range(count):
                    await asyncio.sleep(
                        max(0.0, began + index / rate - time.perf_counter())
                    )
                    tasks.append(asyncio.create_task(one()))
                await asyncio.gather(*tasks)
                achieved = count / (time.perf_counter() - began)
                rates.append((rate, pct(latencies, 0.5)))
                print(
                    f"offered {rate}/s achieved {achieved:.0f}/s p50 {pct(latencies, 0.5) * 1000:.1f} ms",
                    flush=True,
                )
                if pct(latencies, 0.5) > 2 * baseline:
                    break
    finally:
        bridge.terminate()
        bridge.wait()
        fake.stop()
        broker.terminate()
        broker.wait()

    def ms(values: list[float], q: float) -> str:
        return f"{pct(values, q) * 1000:.1f}"

    print("| measure | p50 (ms) | p99 (ms) | target |")
    print("|---|---|---|---|")
    print(
        f"| ai/request round trip (fake Grok answers at once) | {ms(ai, 0.5)} | {ms(ai, 0.99)} | — |"
    )
    print(
        f"| voice route, 2 s command: end of audio → announcement published | {ms(route, 0.5)} | {ms(route, 0.99)} | p50 < 800 |"
    )
    sustained = max((r for r, p50 in rates if p50 <= 2 * baseline), default=0)
    print(
        f"\nSustained ai/request rate with p50 latency at most twice the idle p50: {sustained}/s"
    )


seen: list[object] = []

if __name__ == "__main__":
    asyncio.run(main())
