"""What devices report: values on their `data` topic and on the shared telemetry topic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ProtocolError
from .numbers import MAX_NUMBER
from .plain_json import check_json
from .text import clean_text
from .topics import is_identifier

# The longest text a value may be: a media address (speaker.MAX_URL).
MAX_VALUE_TEXT = 2048


def reported_values(payload: dict[str, Any]) -> dict[str, Any]:
    """payload.values: an object of named values, each checked; ProtocolError('invalid_field') names the first bad one."""
    values = payload.get("values")
    if not isinstance(values, dict):
        raise ProtocolError("invalid_field", "payload.values: must be an object")
    for key, value in values.items():
        name = clean_text(key, "payload.values: a key", longest=64, shortest=1)
        check_json(
            value,
            f"payload.values.{name}",
            longest=None,
            # The message's nesting is bounded already (envelope.MAX_DEPTH); decoded
            # JSON's names are text and its values JSON's types.
            deepest=None,
            strict=False,
            longest_text=MAX_VALUE_TEXT,
            # A sensor's value becomes a float in HA: 10**400 overflowed writing its state.
            number_rule=f"a finite number within ±2**53 ({MAX_NUMBER})",
            member_path=".{}",
        )
    return values


@dataclass(frozen=True, slots=True)
class Report:
    """Values on a device's own `data` topic."""

    values: dict[str, Any]

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Report:
        """Validate: `values` an object of plain, bounded values."""
        return cls(reported_values(payload))


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Values on the shared telemetry topic, for the sender or a device behind it."""

    # None: the sender's own values.
    device_id: str | None
    values: dict[str, Any]

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Telemetry:
        """Validate: `device_id` (optional) an id, `values` as a Report's."""
        device_id = payload.get("device_id")
        if device_id is not None and not is_identifier(device_id):
            raise ProtocolError(
                "invalid_field",
                "payload.device_id: must match ^[a-z0-9][a-z0-9_-]{0,63}$",
            )
        return cls(device_id, reported_values(payload))
