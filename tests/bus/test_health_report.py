"""The bridge's health document: no response time before anything was served, then the latest."""

from __future__ import annotations

from wyoming_services.bridge.health import BridgeCounters, HealthReport


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
