"""A device's capabilities, as the integration reads them."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any, Final

# Capabilities that describe what a device does rather than an entity; the names
# that become entities are the rows of the platforms' tables (entity_tables.py).
DESCRIPTIVE: Final = frozenset(
    {"audio_playback", "group_management", "announce", "stt", "tts", "ai", "telemetry",
     "microphone"}
)  # fmt: skip


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
            parameters=dict(item.get("parameters") or {}),
        )


def is_known(capability: Capability, entities: Container[str]) -> bool:
    """Whether it becomes an entity (its name in entities) or describes the device."""
    return capability.name in DESCRIPTIVE or capability.name in entities
