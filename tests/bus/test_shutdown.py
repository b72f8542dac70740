"""SIGTERM: a request in flight is answered, the bridge says offline, and the server exits within its grace."""

from __future__ import annotations

import asyncio
from pathlib import Path
import time

import pytest

from alicia_bus.envelope import new_message
from tests.bus.client import bus_client
from tests.bus.conftest import Bus, start_bridge
from tests.conftest import Mosquitto, ServerProcess, wait_until
from tests.fake_xai import FakeXai
from wyoming_services.server import STOP_GRACE

pytestmark = pytest.mark.slow


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


async def test_sigterm_with_the_broker_stopping_too_is_quick_and_quiet(
    tmp_path: Path,
) -> None:
    """Ctrl-C in scripts/develop stops the broker with us: within the grace, no traceback."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    server = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.port),
        "--bridge-id", "bridge-quick", log=tmp_path / "server.log",
    )  # fmt: skip
    try:
        await asyncio.to_thread(server.wait_logged, "Bridge bridge-quick serving")
        assert broker.process is not None
        broker.process.terminate()
        server.process.terminate()
        stopped_at = time.monotonic()
        assert await asyncio.to_thread(server.process.wait, 15) == 0
        # The grace, and the moment an interpreter with its models needs to end.
        assert time.monotonic() - stopped_at < STOP_GRACE + 2
        log = server.log.read_text()
        assert "Stopped" in log
        assert "Traceback" not in log
        assert "never retrieved" not in log
        # Which goes first, the broker or our SIGTERM, is a race (as with Ctrl-C in
        # develop): the bridge says "Stopping without the broker" when it saw the loss
        # first; either way the stop is within the grace and quiet, as checked above.
    finally:
        server.stop()
        broker.stop()


async def test_sigterm_while_a_broker_does_not_answer_keeps_the_grace(
    tmp_path: Path,
) -> None:
    """A broker that takes the connection and never answers it: the stop is not held."""

    connecting = asyncio.Event()

    async def black_hole(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readexactly(1)  # CONNECT arrives; no CONNACK ever comes
        connecting.set()
        await reader.read()
        writer.close()

    hole = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = hole.sockets[0].getsockname()[1]
    server = ServerProcess(
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(port),
        log=tmp_path / "server.log",
    )  # fmt: skip
    try:
        await asyncio.to_thread(server.wait_ready)
        await asyncio.wait_for(connecting.wait(), 20)
        server.process.terminate()
        stopped_at = time.monotonic()
        assert await asyncio.to_thread(server.process.wait, 20) == 0
        assert time.monotonic() - stopped_at < STOP_GRACE + 3
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()
        hole.close()
