"""Memory under floods: the Wyoming port and the bridge's MQTT side, RSS before and after.

Run: `.venv/bin/python bench/floods.py`. Part 1 starts the server (real models) and
sends it hostile traffic: 200 connections at once (the cap is 32), 500 headers
claiming 2 GiB of data, 500 audio chunks claiming 32 MiB, 500 over-long recordings.
Part 2 starts Mosquitto and a bridge and publishes 20,000 hostile messages from
20,000 forged senders (garbage, bad reply_to, unsigned requests, huge ids).
Each part prints the process's resident memory before and after, and checks the
server still answers.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import sys
import tempfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alicia_bus.envelope import new_message
from bench.bus import port, start_broker
from tests.bus.client import bus_client
from tests.conftest import ServerProcess
from tests.fake_xai import FakeXai
from tests.wyoming.client import describe, host_port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def hostile(uri: str, sent: bytes) -> None:
    try:
        reader, writer = await asyncio.open_connection(*host_port(uri))
        writer.write(sent)
        await writer.drain()
        await asyncio.wait_for(reader.read(), 10)
        writer.close()
    except (OSError, TimeoutError):
        pass


def header(kind: str, data: dict[str, object] | None = None, **extra: object) -> bytes:
    return json.dumps({"type": kind, "data": data or {}, **extra}).encode() + b"\n"


async def wyoming_flood(work: Path) -> tuple[float, float, float]:
    server = ServerProcess(log=work / "server.log")
    server.wait_ready()
    try:
        pid = server.process.pid
        before = rss_mib(pid)
        idle = [
            await asyncio.open_connection(*host_port(server.uri)) for _ in range(200)
        ]
        peak = rss_mib(pid)
        for _, writer in idle:
            writer.close()
        start = header("audio-start", {"rate": 16000, "width": 2, "channels": 1})
        chunk = header("audio-chunk", {"rate": 16000, "width": 2, "channels": 1},
                       payload_length=32 * 1024 * 1024)  # fmt: skip
        long = b"".join(
            header("audio-chunk", {"rate": 16000, "width": 2, "channels": 1},
                   payload_length=32000) + bytes(32000)
            for _ in range(31)
        )  # fmt: skip
        for batch in range(10):
            await asyncio.gather(
                *(hostile(server.uri, header("synthesize", data_length=2**31)) for _ in range(50)),
                *(hostile(server.uri, start + chunk) for _ in range(50)),
                *(hostile(server.uri, start + long) for _ in range(50)),
            )  # fmt: skip
            peak = max(peak, rss_mib(pid))
            print(f"  batch {batch + 1}/10: RSS {rss_mib(pid):.0f} MiB")
        assert (await describe(server.uri)).asr, "the server stopped answering"
        return before, peak, rss_mib(pid)
    finally:
        server.stop()


async def mqtt_flood(
    work: Path, kinds: tuple[int, ...] = (0, 1, 2, 3)
) -> tuple[float, float, float]:
    mqtt_port = port()
    broker = start_broker(work, mqtt_port)
    fake = FakeXai(port())
    fake.wait_ready()
    bridge = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(mqtt_port), "--bridge-id", "flood",
        "--grok-base-url", fake.base_url, log=work / "bridge.log",
        env={"ALICIA_GROK_API_KEY": "bench-key"},
    )  # fmt: skip
    bridge.wait_ready()
    try:
        pid = bridge.process.pid
        async with bus_client(mqtt_port, "alicia/voice/ai/response") as client:
            await asyncio.sleep(1)
            before = peak = rss_mib(pid)
            for index in range(20_000):
                sender = f"forged{index}"
                kind = kinds[index % len(kinds)]
                if kind == 0:
                    raw: bytes | dict[str, object] = b"{garbage" + bytes(index % 50)
                elif kind == 1:
                    raw = new_message(
                        sender,
                        "request",
                        {"text": "x"},
                        reply_to="alicia/devices/victim/replies/x",
                    )
                elif kind == 2:
                    raw = new_message(sender, "request", {"text": "x" * 5000})
                else:
                    raw = new_message(sender, "request", {"text": "x"}) | {
                        "message_id": "y" * 64
                    }
                await client.publish("alicia/voice/ai/request", raw)
                if index % 5000 == 4999:
                    peak = max(peak, rss_mib(pid))
                    print(f"  {index + 1} messages: RSS {rss_mib(pid):.0f} MiB")
            await asyncio.sleep(5)
            answer = await client.request(
                "alicia/voice/ai/request", {"text": "Still there?"}, limit=60
            )
            assert "error" not in answer["payload"], answer
            return before, max(peak, rss_mib(pid)), rss_mib(pid)
    finally:
        bridge.stop()
        fake.stop()
        broker.terminate()
        broker.wait(10)


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        print("Wyoming port flood (server with the real models):")
        before, peak, after = await wyoming_flood(work)
        print(
            f"  RSS before {before:.0f} MiB, peak {peak:.0f} MiB, after {after:.0f} MiB"
        )
        print(
            "MQTT flood (bridge, 20,000 hostile messages from 20,000 forged senders):"
        )
        before, peak, after = await mqtt_flood(work)
        print(
            f"  RSS before {before:.0f} MiB, peak {peak:.0f} MiB, after {after:.0f} MiB"
        )
        print(f"(cpu count {os.cpu_count()})")


if __name__ == "__main__":
    asyncio.run(main())
