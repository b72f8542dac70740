"""A device's capabilities, as the integration reads them."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any, Final

from .bus.errors import ProtocolError
from .bus.numbers import is_number
from .bus.text import clean_text

# Capabilities that describe what a device does rather than an entity; the names
# that become entities are the rows of the platforms' tables (entity_tables.py).
DESCRIPTIVE: Final = frozenset(
    {"audio_playback", "group_management", "announce", "stt", "tts", "ai", "telemetry",
     "microphone"}
)  # fmt: skip
# The longest text shown from a capability's parameters (a unit such as "µg/m³").
SHORT_TEXT: Final = 32


def event_types(parameters: dict[str, Any]) -> list[str] | None:
    """parameters.events if a non-empty list of event names (text, 1 to 64 characters); else None."""
    listed = parameters.get("events")
    if not isinstance(listed, list) or not listed:
        return None
    try:
        names = [clean_text(n, "events", longest=64, shortest=1) for n in listed]
    except ProtocolError:
        return None
    return list(dict.fromkeys(names))


def span(
    parameters: dict[str, Any], names: tuple[str, str], default: tuple[float, float]
) -> tuple[float, float]:
    """Two parameters as a range (low < high, both finite numbers), else the default.

    Any JSON may sit there: a text, NaN as "nan", or an inverted range would make
    HA refuse the entity (or every value set on it).
    """
    low, high = (_finite(parameters.get(name)) for name in names)
    if low is not None and high is not None and low < high:
        return low, high
    return default


def positive(parameters: dict[str, Any], name: str, default: float) -> float:
    """A parameter as a positive finite number, else the default."""
    value = _finite(parameters.get(name))
    return value if value is not None and value > 0 else default


def _finite(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def text(parameters: dict[str, Any], name: str, default: str) -> str:
    """A parameter as short plain text (a unit, say: 1 to 32 characters), else the default.

    It is shown beside every value: no control, bidi or invisible characters.
    """
    try:
        return clean_text(parameters.get(name), name, longest=SHORT_TEXT, shortest=1)
    except ProtocolError:
        return default


def _parameters(value: Any) -> dict[str, Any]:
    # A document stored before registrations were checked may hold anything here;
    # events that are no list of names are dropped, for the event entity and the
    # device triggers alike (both then use the default types).
    parameters = dict(value) if isinstance(value, dict) else {}
    if "events" in parameters and event_types(parameters) is None:
        del parameters["events"]
    return parameters


@dataclass(frozen=True, slots=True)
class Capability:
    """One capability of a device, as registered."""

    name: str
    kind: str
    parameters: dict[str, Any]

    @classmethod
    def from_document(cls, item: dict[str, Any]) -> Capability:
        """From the capability document's entry (already validated)."""
        name = str(item["name"]).strip().lower()
        return cls(
            name=name,
            kind=str(item.get("type") or ""),
            parameters=_parameters(item.get("parameters")),
        )


def is_known(capability: Capability, entities: Container[str]) -> bool:
    """Whether it becomes an entity (its name in entities) or describes the device."""
    return capability.name in DESCRIPTIVE or capability.name in entities
