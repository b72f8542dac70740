"""Integration benchmark through HA's real MQTT integration and a real Mosquitto.

Run: `.venv/bin/python -m pytest bench/integration_bench.py -p no:sugar -s -q`
(it uses the HA test harness for a real `hass`, but asserts nothing about time:
it prints what it measured).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import statistics
import time
import uuid

import aiomqtt
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.alicia  # noqa: F401
from custom_components.alicia.const import DOMAIN
from tests.conftest import Mosquitto
from tests.integration.helpers import setup_real_mqtt

DEVICES = int(os.environ.get("BENCH_DEVICES", "1000"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "20000"))


def envelope(source: str, payload: dict[str, object]) -> bytes:
    return json.dumps(
        {"protocol": 1, "message_id": str(uuid.uuid4()), "timestamp": datetime.now(UTC).isoformat(),
         "source": source, "destination": "broadcast", "message_type": "event", "payload": payload}
    ).encode()  # fmt: skip


async def test_bench(
    hass: HomeAssistant,
    socket_enabled: None,
    tmp_path: Path,
    mock_hass_config: None,
    enable_custom_integrations: None,
) -> None:
    broker = Mosquitto(tmp_path / "broker")
    await hass.async_add_executor_job(broker.start)
    try:
        mqtt_entry = await setup_real_mqtt(hass, broker.port)
        entry = MockConfigEntry(
            domain=DOMAIN, options={"topic_prefix": "alicia", "approval": "auto"}
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        hub = entry.runtime_data
        registry = er.async_get(hass)

        lags: list[float] = []

        async def watch_loop() -> None:
            while True:
                started = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - started - 0.01)

        watcher = asyncio.create_task(watch_loop())
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, max_queued_outgoing_messages=100_000
        ) as client:
            started = time.perf_counter()
            for index in range(DEVICES):
                device_id = f"bench_{index:04d}"
                document = {"device_id": device_id, "device_type": "sensor", "name": f"Bench {index}",
                            "capabilities": ["temperature", "switch"], "heartbeat_interval": 10}  # fmt: skip
                await client.publish(
                    f"alicia/system/discovery/register/{device_id}",
                    envelope(device_id, document),
                    qos=1,
                    retain=True,  # as the protocol asks: late subscribers still see it
                )
            expected = DEVICES * (
                2 + 1 + 4
            )  # capabilities, connectivity, health sensors
            deadline = time.perf_counter() + 60
            while (
                count := len(
                    er.async_entries_for_config_entry(registry, entry.entry_id)
                )
            ) < expected + 1:
                if time.perf_counter() > deadline:
                    print(
                        f"entities: {count} of {expected + 1}; devices {len(hub.roster.devices)}, pending {len(hub.approvals.pending)}, {hub.tally.counters}"
                    )
                    break
                await asyncio.sleep(0.05)
            register_seconds = time.perf_counter() - started
            register_lag = sorted(lags)
            lags.clear()

            before = hub.tally.counters.messages
            started = time.perf_counter()
            for index in range(MESSAGES):
                device_id = f"bench_{index % DEVICES:04d}"
                if index % 10 == 0:
                    topic, payload = (
                        "alicia/system/health/heartbeat",
                        {"device_id": device_id, "status": "healthy", "interval": 10},
                    )
                else:
                    topic, payload = (
                        f"alicia/devices/{device_id}/data",
                        {"values": {"temperature": 20 + index % 50 / 10}},
                    )
                await client.publish(topic, envelope(device_id, payload), qos=0)
            published = time.perf_counter() - started
            deadline = time.perf_counter() + 60
            while hub.tally.counters.messages - before < MESSAGES:
                if time.perf_counter() > deadline:
                    print(
                        f"processed {hub.tally.counters.messages - before} of {MESSAGES}"
                    )
                    break
                await asyncio.sleep(0.01)
            processed = time.perf_counter() - started
        watcher.cancel()
        flood_lag = sorted(lags)

        def p(values: list[float], q: float) -> float:
            return (
                values[min(len(values) - 1, round(q * (len(values) - 1)))] * 1000
                if values
                else 0.0
            )

        print("\n| measure | result | target |\n|---|---|---|")
        print(
            f"| {DEVICES} devices register (auto-approved) until all {expected} entities exist | {register_seconds:.2f} s | < 10 s |"
        )
        print(
            f"| event-loop lag while registering, p50 / p99 / max | {p(register_lag, 0.5):.1f} / {p(register_lag, 0.99):.1f} / {p(register_lag, 1):.1f} ms | — |"
        )
        print(
            f"| {MESSAGES} data + heartbeat messages: processing rate | {MESSAGES / processed:.0f} msg/s (publisher sent at {MESSAGES / published:.0f} msg/s) | ≥ 2000 msg/s |"
        )
        print(
            f"| event-loop lag during the flood, p50 / p99 / max | {p(flood_lag, 0.5):.1f} / {p(flood_lag, 0.99):.1f} / {p(flood_lag, 1):.1f} ms | — |"
        )
        print(
            f"| mean lag | {statistics.fmean(flood_lag) * 1000 if flood_lag else 0:.1f} ms | — |"
        )

        assert await hass.config_entries.async_unload(entry.entry_id)
        assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await hass.async_add_executor_job(broker.stop)
