"""Soak of the bus: no answer lost or doubled while the broker is killed and the bridge restarted; then a forged flood.

Run: `.venv/bin/python bench/soak_bus.py [--requests 300] [--no-flood]` (local only,
about 3 minutes, stops by itself). Starts a real Mosquitto (persistence on, saved
every second), the fake xAI API and our server with its bridge (default rate limits),
and stands in for Home Assistant (its key and trust list, ten devices approved).

Part 1: 300 signed requests (ten approved devices) and 300 unsigned ones (ten
devices without keys), 10 a second, each re-sent unchanged every 3 s until
answered (docs/protocol.md, "Delivery"), while the broker is killed -9 (and
restarted 2 s later) twice and the bridge stopped with SIGTERM (and started again)
twice. Printed: requests never answered, answered twice, run twice by the model.

`--calm` runs it without the faults. Part 2 (`--no-flood` to leave out): an approved device's latency, idle and while
2,000 forged requests in its own id (unsigned, or signed with another key) arrive
at 100 a second; its requests lost to its rate limit.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter, defaultdict
import contextlib
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from bench.bus import pct
from tests.conftest import TEST_KEY, Mosquitto, ServerProcess, free_port
from tests.fake_xai import FakeXai

AI = "alicia/voice/ai/request"
HUB = KeyPair.generate()
SIGNED = {f"soak_signed_{n}": KeyPair.generate() for n in range(10)}
UNSIGNED = [f"soak_guest_{n}" for n in range(10)]
RETRY_EVERY = 3.0
ATTEMPTS = 15
BRIDGE = "soak-bridge"
# The stand-in devices publish while the broker is down, by design: aiomqtt's warning
# for each publish waiting ("There are 24 pending publish calls.") is not news here.
_QUIET = logging.getLogger("soak_bus.devices")
_QUIET.setLevel(logging.ERROR)


@dataclass
class Stack:
    """What the soak runs on: its folder, the broker, the fake model, the bridges so far."""

    work: Path
    broker: Mosquitto
    fake: FakeXai
    bridges: list[ServerProcess]


class Requester:
    """Devices' side of the bus, over one MQTT session that outlives broker restarts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self.answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.heartbeat: dict[str, Any] = {}

    async def run(self) -> None:
        """Connect, collect answers, reconnect after 0.5 s when the broker goes."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, identifier="soak-devices",
                    protocol=aiomqtt.ProtocolVersion.V5, clean_start=False,
                    properties=properties, logger=_QUIET,
                ) as client:  # fmt: skip
                    for topic in ("alicia/devices/+/replies/voice", "alicia/voice/ai/response",
                                  "alicia/system/errors", "alicia/system/health/heartbeat"):  # fmt: skip
                        await client.subscribe(topic, qos=1)
                    self.client = client
                    self.connected.set()
                    async for message in client.messages:
                        self._take(str(message.topic), bytes(message.payload))
            except aiomqtt.MqttError:
                pass
            self.connected.clear()
            self.client = None
            await asyncio.sleep(0.5)

    def _take(self, topic: str, raw: bytes) -> None:
        with contextlib.suppress(ValueError):
            message = json.loads(raw)
            if topic.endswith("heartbeat"):
                if message.get("source") == BRIDGE:
                    self.heartbeat = message["payload"]["counters"]
                return
            correlation = message.get("correlation_id")
            if isinstance(correlation, str):
                self.answers[correlation].append(message)
                self.arrived[correlation].set()

    async def publish(
        self, topic: str, message: dict[str, Any], retain: bool = False
    ) -> None:
        """Publish with QoS 1; a broker that is down loses it (the retry is the cure)."""
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await asyncio.wait_for(self.connected.wait(), RETRY_EVERY)
            if self.client is not None:
                await self.client.publish(
                    topic, json.dumps(message), qos=1, retain=retain
                )

    async def ask(self, message: dict[str, Any], every: float, attempts: int) -> int:
        """Send the same message until answered; the attempts it took (0: never answered)."""
        arrived = self.arrived[message["message_id"]]
        for attempt in range(1, attempts + 1):
            await self.publish(AI, message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), every)
                return attempt
        return 0


def request(source: str, text: str) -> dict[str, Any]:
    """A device's question; signed by its key if it has one (answered in its own namespace)."""
    key = SIGNED.get(source)
    if key is None:
        return new_message(source, "request", {"text": text})
    inbox = f"alicia/devices/{source}/replies/voice"
    message = new_message(source, "request", {"text": text}, reply_to=inbox)
    return key.sign(AI, message)


def start_bridge(stack: Stack, run: int) -> ServerProcess:
    bridge = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(stack.broker.port),
        "--bridge-id", BRIDGE, "--grok-base-url", stack.fake.base_url,
        "--grok-model", "grok-test-fast", "--bridge-heartbeat-interval", "2",
        "--log-level", "info", log=stack.work / f"bridge-{run}.log",
        env={"ALICIA_GROK_API_KEY": TEST_KEY,
             "ALICIA_SECURITY_KEY_FILE": str(stack.work / "bridge.pem")},
    )  # fmt: skip
    bridge.wait_logged(f"Bridge {BRIDGE} serving")
    return bridge


async def publish_trust(devices: Requester) -> None:
    """Home Assistant's key and trust list, retained, as the integration publishes them."""
    topic = "alicia/system/security/hub"
    offer = new_message("home-assistant", "event", {"public_key": HUB.public_key})
    await devices.publish(topic, HUB.sign(topic, offer), retain=True)
    topic = "alicia/system/security/trust"
    keys = {device: key.public_key for device, key in SIGNED.items()}
    trust = new_message("home-assistant", "event", {"mode": "verify", "devices": keys})
    await devices.publish(topic, HUB.sign(topic, trust), retain=True)
    await asyncio.sleep(1)


async def faults(stack: Stack, calm: bool) -> list[str]:
    """Broker killed -9 at 8 s and 38 s (2 s down), bridge SIGTERMed at 20 s and 50 s."""
    started, done = time.monotonic(), []
    schedule = (
        () if calm else ((8, "broker"), (20, "bridge"), (38, "broker"), (50, "bridge"))
    )
    for at, fault in schedule:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        what = fault
        if fault == "broker":
            assert stack.broker.process is not None
            stack.broker.process.kill()  # -9: what it had not saved is gone
            stack.broker.process.wait()
            await asyncio.sleep(2)
            await asyncio.to_thread(stack.broker.start)
        else:
            stopping = time.monotonic()
            await asyncio.to_thread(stack.bridges[-1].stop)
            restarted = await asyncio.to_thread(start_bridge, stack, len(stack.bridges))
            stack.bridges.append(restarted)
            what = f"bridge (back in {time.monotonic() - stopping:.1f} s)"
        done.append(f"{time.monotonic() - started:.0f} s: {what}")
    return done


async def soak(stack: Stack, devices: Requester, count: int, calm: bool) -> None:
    senders = [*SIGNED, *UNSIGNED]
    fault_task = asyncio.create_task(faults(stack, calm))
    messages: list[dict[str, Any]] = []
    asks = []
    for n in range(2 * count):  # 10 a second, each made when first sent
        messages.append(request(senders[n % len(senders)], f"Soak {n}?"))
        asks.append(
            asyncio.create_task(devices.ask(messages[-1], RETRY_EVERY, ATTEMPTS))
        )
        await asyncio.sleep(0.1)
    attempts = await asyncio.gather(*asks)
    print("  faults:", "; ".join(await fault_task) or "none")
    await asyncio.sleep(3)  # copies still on their way
    signed = {m["message_id"] for m in messages if m.get("security")}
    for kind, wanted in (("signed", True), ("unsigned", False)):
        mine = [(m, a) for m, a in zip(messages, attempts, strict=True)
                if (m["message_id"] in signed) == wanted]  # fmt: skip
        lost = sum(1 for _, a in mine if a == 0)
        # Two answers are two response messages (two message ids); copies of one
        # response (the broker's QoS 1 redelivery after a kill -9, or the bridge's
        # kept answer sent again to a retry) are taken once, counted apart.
        sent = [
            {a["message_id"] for a in devices.answers[m["message_id"]]} for m, _ in mine
        ]
        twice = sum(1 for ids in sent if len(ids) > 1)
        again = sum(
            len(devices.answers[m["message_id"]]) - len(ids)
            for (m, _), ids in zip(mine, sent, strict=True)
        )
        errors = Counter(
            devices.answers[m["message_id"]][0]["payload"]["error"]["code"]
            for m, a in mine
            if a and "error" in devices.answers[m["message_id"]][0]["payload"]
        )
        retried = sum(1 for _, a in mine if a > 1)
        print(f"  {kind}: {len(mine)} sent, {lost} never answered, {twice} answered "
              f"twice, {retried} needed a retry, errors {dict(errors) or 'none'}; "
              f"{again} copies of an answer taken once (same message_id)")  # fmt: skip
    texts = Counter(
        r["body"]["messages"][-1]["content"]
        for r in stack.fake.chat_requests()
        if r["body"]["messages"][-1]["content"].startswith("Soak ")
    )
    print(f"  run twice by the model: {sum(1 for n in texts.values() if n > 1)}")


async def latencies(
    devices: Requester, source: str, seconds: float
) -> tuple[list[float], int]:
    """The approved device asking once every 0.25 s for `seconds`: latencies, and requests lost."""
    times, lost, until = [], 0, time.monotonic() + seconds
    while time.monotonic() < until:
        message = request(source, f"Latency {time.monotonic()}?")
        started = time.perf_counter()
        if await devices.ask(message, 5.0, 1):
            times.append(time.perf_counter() - started)
        else:
            lost += 1
        await asyncio.sleep(0.25)
    return times, lost


async def flood(devices: Requester) -> None:
    victim = next(iter(SIGNED))
    other = KeyPair.generate()
    idle, idle_lost = await latencies(devices, victim, 10)

    async def forge() -> None:
        for n in range(2000):
            message = new_message(victim, "request", {"text": f"Forged {n}"})
            await devices.publish(AI, other.sign(AI, message) if n % 2 else message)
            await asyncio.sleep(0.01)

    forging = asyncio.create_task(forge())
    busy, busy_lost = await latencies(devices, victim, 18)
    await forging
    await asyncio.sleep(3)
    ms = [round(1000 * pct(t, q)) for t in (idle, busy) for q in (0.5, 0.95)]
    print(
        f"  idle: {len(idle)} answered, {idle_lost} lost, p50 {ms[0]} ms, p95 {ms[1]} ms"
    )
    print(f"  under the flood: {len(busy)} answered, {busy_lost} lost, "
          f"p50 {ms[2]} ms, p95 {ms[3]} ms")  # fmt: skip
    # rate_limited counts the refusals left unanswered (one bucket for all of them).
    print(f"  the bridge refused: {devices.heartbeat.get('rejected_by_code')}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--requests", type=int, default=300, help="signed, and as many unsigned"
    )
    parser.add_argument("--no-flood", action="store_true", help="leave part 2 out")
    parser.add_argument("--calm", action="store_true", help="part 1 without faults")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        broker = Mosquitto(work / "mosquitto")
        broker.start()
        fake = FakeXai(free_port())
        fake.wait_ready()
        stack = Stack(work, broker, fake, [])
        stack.bridges.append(start_bridge(stack, 0))
        devices = Requester(broker.port)
        running = asyncio.create_task(devices.run())
        try:
            await publish_trust(devices)
            faults_said = (
                "no faults"
                if args.calm
                else "broker killed -9 twice, bridge restarted twice"
            )
            print(
                f"Part 1: {args.requests} signed and {args.requests} unsigned requests, {faults_said}"
            )
            await soak(stack, devices, args.requests, args.calm)
            if not args.no_flood:
                print("Part 2: an approved device, idle and under 2,000 forged "
                      "requests in its id at 100/s")  # fmt: skip
                await flood(devices)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            stack.bridges[-1].stop()
            fake.stop()
            broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
