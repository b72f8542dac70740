"""The bridge's counters and its heartbeat's health document (cpu and memory from /proc)."""

from __future__ import annotations

from dataclasses import dataclass, field
import os
import time
from typing import Any


@dataclass(slots=True)
class BridgeCounters:
    """Totals since start, and the current heartbeat interval's figures."""

    requests: int = 0
    errors: int = 0
    rejected: int = 0
    duplicates: int = 0
    # Retries of answered requests that got the kept answer again.
    resent: int = 0
    # Messages the inbox could not keep (inbox.py): requests past their lane, other past its bytes.
    dropped_requests: int = 0
    dropped_unread: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    window_requests: int = 0
    window_errors: int = 0
    window_time: float = 0.0

    def reject(self, code: str) -> None:
        """Count a message refused for breaking the protocol (codes are a fixed set)."""
        self.rejected += 1
        self.by_code[code] = self.by_code.get(code, 0) + 1

    def served(self, seconds: float, failed: bool) -> None:
        """Count one request answered."""
        self.requests += 1
        self.window_requests += 1
        self.window_time += seconds
        if failed:
            self.errors += 1
            self.window_errors += 1


class HealthReport:
    """Turns the counters into the health schema, interval by interval."""

    def __init__(self, counters: BridgeCounters) -> None:
        """Start measuring CPU time from now."""
        self.counters = counters
        self._cpu_mark = (time.monotonic(), sum(os.times()[:2]))
        # The mean of the latest interval that had requests; none before the first.
        self._response_ms: float | None = None

    def document(
        self,
        service_id: str,
        interval: float,
        engines_ready: bool,
        *,
        listening: bool = True,
        hub_key: str | None = None,
        hub_key_refused: bool = False,
    ) -> dict[str, Any]:
        """The health document for the interval now ending; its figures start again.

        Unhealthy when the models failed or the Wyoming listener did not answer its
        self-check; degraded when most requests failed or Home Assistant's key was refused.
        """
        now, cpu = time.monotonic(), sum(os.times()[:2])
        then, cpu_then = self._cpu_mark
        self._cpu_mark = (now, cpu)
        cores = os.cpu_count() or 1
        cpu_usage = 100.0 * (cpu - cpu_then) / max(now - then, 1e-6) / cores
        counters = self.counters
        requests = counters.window_requests
        error_rate = counters.window_errors / requests if requests else 0.0
        if requests:
            self._response_ms = 1000.0 * counters.window_time / requests
        counters.window_requests = counters.window_errors = 0
        counters.window_time = 0.0
        status = (
            "unhealthy"
            if not (engines_ready and listening)
            else "degraded"
            if error_rate > 0.5 or hub_key_refused
            else "healthy"
        )
        return {
            "service_id": service_id,
            "status": status,
            "interval": interval,
            "metrics": {
                "cpu_usage": round(min(cpu_usage, 100.0), 2),
                "memory_usage": round(memory_percent(), 2),
                "error_rate": round(error_rate, 4),
            }
            | (
                {"response_time": round(self._response_ms, 1)}
                if self._response_ms is not None
                else {}
            ),
            "counters": {
                "requests": counters.requests,
                "errors": counters.errors,
                "rejected": counters.rejected,
                "duplicates": counters.duplicates,
                "resent": counters.resent,
                "dropped_requests": counters.dropped_requests,
                "dropped_unread": counters.dropped_unread,
                "rejected_by_code": dict(counters.by_code),
            },
            "dependencies": ["mqtt"],
        } | ({"hub_key": hub_key} if hub_key is not None else {})


def memory_percent() -> float:
    """Resident memory of this process, as a percentage of the machine's."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident_pages = int(statm.read().split()[1])
        total_pages = os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, IndexError):
        return 0.0
    return 100.0 * resident_pages / total_pages
