"""10,000 random and mutated payloads on every topic the bridge subscribes to, over a real broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair
from tests.bus.client import bus_client
from tests.bus.conftest import start_bridge
from tests.conftest import Mosquitto
from tests.fake_xai import FakeXai
from tests.fuzz import payloads

pytestmark = pytest.mark.slow
TOPICS = [
    "alicia/voice/stt/request", "alicia/voice/ai/request", "alicia/voice/tts/request",
    "alicia/voice/command/route", "alicia/voice/stt/vocabulary",
    "alicia/system/security/hub", "alicia/system/security/trust",
]  # fmt: skip


async def test_fuzz_does_not_break_the_bridge(
    tmp_path: Path, xai: FakeXai, mosquitto: Mosquitto
) -> None:
    bridge = start_bridge(
        mosquitto, xai, "bridge-f", tmp_path, "--rate-limit", "5", "--rate-burst", "20"
    )
    try:
        hub = KeyPair.generate()
        examples = {
            TOPICS[0]: new_message("fuzzer", "request", {"audio": {"format": "wav", "data": "UklGRg=="}}),
            TOPICS[1]: new_message("fuzzer", "request", {"text": "What time is it?"}),
            TOPICS[2]: new_message("fuzzer", "request", {"text": "Hello"}),
            TOPICS[3]: new_message("fuzzer", "request", {"audio": {"format": "wav", "data": ""}}),
            TOPICS[4]: new_message("home-assistant", "event", {"phrases": ["kitchen light"]}),
            TOPICS[5]: new_message("home-assistant", "event", {"public_key": hub.public_key}),
            TOPICS[6]: new_message("home-assistant", "event", {"mode": "off", "devices": {}}),
        }  # fmt: skip
        async with bus_client(
            mosquitto.port, "alicia/voice/ai/response", "alicia/system/health/heartbeat"
        ) as client:
            for topic, raw in payloads(
                TOPICS, examples, 10_000, lambda: new_message("fuzzer", "event", {})
            ):
                await client.client.publish(topic, raw, qos=0)
            # A request from a sender the flood did not use is still answered. It is
            # the marker too: the bridge reads what this client sent in order, so the
            # flood was in before this is answered.
            answer = await client.request(
                "alicia/voice/ai/request", {"text": "Still there?"}, source="calm_panel"
            )
            assert bridge.process.poll() is None, bridge.log.read_text()[-3000:]
            assert "error" not in answer["payload"], answer
            heartbeat = await client.wait_for(
                lambda m: m["payload"]["counters"]["rejected"] >= 5_000,
                topic="alicia/system/health/heartbeat",
            )
            by_code = heartbeat["payload"]["counters"]["rejected_by_code"]
            assert by_code["malformed_json"] > 500
            assert by_code["rate_limited"] > 500
        log = bridge.log.read_text()
        assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:3000]
    finally:
        bridge.stop()
