"""Commands to a device as a whole, not to one capability, on `devices/{id}/command`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Send every current value on `devices/{id}/data` now: HA asks when it approves the
# device, since what the device reported before then was refused.
REPORT = "report"


def report_request() -> dict[str, Any]:
    """The payload of a report command (it names no capability)."""
    return {"action": REPORT, "params": {}}


def is_report(payload: Mapping[str, Any]) -> bool:
    """Whether a command's payload asks for every value."""
    return payload.get("action") == REPORT and payload.get("capability") is None
