"""The vocabulary HA publishes for speech-to-text: ranked phrases, and what commands may name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ProtocolError
from .text import clean_text
from .topics import is_identifier

MAX_PHRASES = 1000


def _names(payload: dict[str, Any], name: str) -> tuple[str, ...]:
    """An optional list of at most MAX_PHRASES names."""
    values = payload.get(name, [])
    if not isinstance(values, list) or len(values) > MAX_PHRASES:
        raise ProtocolError(
            "invalid_field",
            f"payload.{name}: must be a list of at most {MAX_PHRASES} strings",
        )
    return tuple(
        clean_text(value, f"payload.{name}[{i}]", longest=100)
        for i, value in enumerate(values)
    )


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Names and phrases that speech-to-text should expect.

    phrases: the names people say, most important first (what a prompt keeps);
    entities (name, domain), areas and floors: what the home's command sentences
    may name, as Home Assistant's own intents match them.
    """

    phrases: tuple[str, ...]
    entities: tuple[tuple[str, str], ...] = ()
    areas: tuple[str, ...] = ()
    floors: tuple[str, ...] = ()

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Vocabulary:
        """Validate."""
        if "phrases" not in payload:
            raise ProtocolError("missing_field", "payload.phrases is required")
        entities = payload.get("entities", [])
        if not isinstance(entities, list) or len(entities) > MAX_PHRASES:
            raise ProtocolError(
                "invalid_field",
                f"payload.entities: must be a list of at most {MAX_PHRASES} "
                "[name, domain] pairs",
            )
        pairs: list[tuple[str, str]] = []
        for i, entity in enumerate(entities):
            if not isinstance(entity, list) or len(entity) != 2:
                raise ProtocolError(
                    "invalid_field", f"payload.entities[{i}]: must be [name, domain]"
                )
            name = clean_text(entity[0], f"payload.entities[{i}][0]", longest=100)
            domain = entity[1]
            if not isinstance(domain, str) or not is_identifier(domain):
                raise ProtocolError(
                    "invalid_field", f"payload.entities[{i}][1]: must be a domain"
                )
            pairs.append((name, domain))
        return cls(
            _names(payload, "phrases"), tuple(pairs),
            _names(payload, "areas"), _names(payload, "floors"),
        )  # fmt: skip

    @property
    def summary(self) -> str:
        """How much it holds, for a log line."""
        return (
            f"{len(self.phrases)} phrases; home commands name "
            f"{len(self.entities)} entities, {len(self.areas)} areas"
        )

    def to_payload(self) -> dict[str, Any]:
        """As published on voice/stt/vocabulary."""
        return {
            "phrases": list(self.phrases),
            "entities": [list(pair) for pair in self.entities],
            "areas": list(self.areas),
            "floors": list(self.floors),
        }
