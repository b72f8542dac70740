"""SIGTERM with a request in flight: it is answered, then the bridge says offline and exits."""

from __future__ import annotations

import asyncio
from pathlib import Path
import time

from alicia_bus.envelope import new_message
from tests.bus.client import bus_client
from tests.bus.conftest import Bus, start_bridge
from tests.conftest import wait_until
from tests.fake_xai import FakeXai


async def test_request_in_flight_at_sigterm_is_answered(
    bus: Bus, xai: FakeXai, tmp_path: Path
) -> None:
    # A namespace of its own, so the module's other bridge cannot take the request.
    bridge = start_bridge(
        bus.broker, xai, "bridge-stopping", tmp_path, "--mqtt-topic-prefix", "stopping"
    )
    xai.configure(first_token_delay=2.0)
    try:
        async with bus_client(bus.broker.port, "stopping/#") as client:
            status = "stopping/devices/bridge-stopping/status"
            await client.wait_for(
                lambda m: m["payload"]["state"] == "online", topic=status
            )
            request = new_message(
                "test-device", "request", {"text": "Slow one?"},
                reply_to="stopping/voice/ai/response/test-device",
            )  # fmt: skip
            await client.publish("stopping/voice/ai/request", request)
            await wait_until(lambda: bool(xai.chat_requests()), 20)
            stopped_at = time.monotonic()
            bridge.process.terminate()  # SIGTERM while Grok is still answering
            answer = await client.answer_to(request["message_id"], limit=10)
            assert answer["payload"]["text"].startswith("You asked: Slow one?")
            offline = await client.wait_for(
                lambda m: m["payload"]["state"] == "offline", topic=status, limit=10
            )
            assert offline["source"] == "bridge-stopping"
        assert await asyncio.to_thread(bridge.process.wait, 10) == 0
        assert time.monotonic() - stopped_at < 8
        log = bridge.log.read_text()
        assert "Stopping: finishing what is in flight" in log
        assert "unanswered" not in log
    finally:
        bridge.stop()
