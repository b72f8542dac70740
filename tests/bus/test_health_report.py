"""The bridge's health document (response time, its self-check of the Wyoming listener, its hub key)."""

from __future__ import annotations

import asyncio
import time

import pytest
from wyoming.event import async_read_event, async_write_event
from wyoming.info import Info

from wyoming_services.bridge.health import BridgeCounters, HealthReport
from wyoming_services.bridge.liveness import WyomingProbe


def test_response_time_is_absent_until_something_is_served() -> None:
    report = HealthReport(BridgeCounters())
    assert (
        "response_time" not in report.document("b", 30, engines_ready=True)["metrics"]
    )


def test_response_time_is_the_latest_busy_interval_mean() -> None:
    counters = BridgeCounters()
    report = HealthReport(counters)
    counters.served(0.2, failed=False)
    counters.served(0.4, failed=False)
    assert (
        report.document("b", 30, engines_ready=True)["metrics"]["response_time"]
        == 300.0
    )
    # An idle interval keeps showing what the last requests took, not "0 ms".
    idle = report.document("b", 30, engines_ready=True)["metrics"]
    assert idle["response_time"] == 300.0
    assert idle["error_rate"] == 0.0


async def _serve(answer: bool) -> asyncio.Server:
    """A listener that answers describe with info, or one that reads and never answers."""

    async def connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await async_read_event(reader)
        if answer:
            await async_write_event(Info().event(), writer)
        else:
            await reader.read()  # hung until the probe gives up and closes
        writer.close()

    return await asyncio.start_server(connection, "0.0.0.0", 0)


async def test_the_probe_sees_a_listener_that_answers() -> None:
    listener = await _serve(answer=True)
    async with listener:
        assert await WyomingProbe(listener, timeout=2)()


async def test_the_probe_reports_a_hung_listener_within_its_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = await _serve(answer=False)
    async with listener:
        probe = WyomingProbe(listener, timeout=0.3)
        started = time.monotonic()
        assert not await probe()
        assert time.monotonic() - started < 1
    assert "did not answer a describe within 0.3 s" in caplog.text
    assert not await probe()  # closed: still down, logged once
    assert caplog.text.count("did not answer a describe") == 1


def test_a_failed_self_check_or_refused_hub_key_is_the_status() -> None:
    report = HealthReport(BridgeCounters())
    hung = report.document("b", 10, engines_ready=True, listening=False)
    assert hung["status"] == "unhealthy"
    assert "hub_key" not in hung
    stale = report.document(
        "b", 10, engines_ready=True, hub_key="SHA256:" + "A" * 43, hub_key_refused=True
    )
    assert (stale["status"], stale["hub_key"]) == ("degraded", "SHA256:" + "A" * 43)
