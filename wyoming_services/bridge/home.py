"""Home Assistant's exposed entities as the bus shows them, and its commands' answers.

HA publishes the state of every entity exposed to Assist on
`integration/ha/state/{entity_id}` (retained) and answers `integration/ha/command`;
this keeps the first and waits for the second. HA decides what may be done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import logging
from typing import Any
import uuid

from alicia_bus.envelope import Envelope

_LOGGER = logging.getLogger(__name__)
# HA's own limits make far fewer; a flood of states must not grow without end.
MAX_ENTITIES = 5000
MAX_PENDING_COMMANDS = 16
COMMAND_TIMEOUT = 8.0


class CommandFailed(Exception):
    """A command that got no answer; the text says why."""


@dataclass(frozen=True, slots=True)
class EntityState:
    """One exposed entity, as HA published it."""

    entity_id: str
    name: str
    state: str
    area: str | None = None
    unit: str | None = None
    device_class: str | None = None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> EntityState:
        """From an ha/state payload (ValueError if it is not one)."""
        entity_id, state = payload.get("entity_id"), payload.get("state")
        attributes = payload.get("attributes") or {}
        if not isinstance(entity_id, str) or "." not in entity_id:
            raise ValueError("entity_id missing")
        if not isinstance(attributes, dict):
            raise ValueError("attributes must be an object")

        def text(value: object) -> str | None:
            return str(value)[:120] if isinstance(value, str | int | float) else None

        return cls(
            entity_id,
            text(attributes.get("friendly_name")) or entity_id,
            text(state) or "unknown",
            text(payload.get("area")),
            text(attributes.get("unit_of_measurement")),
            text(attributes.get("device_class")),
        )

    @property
    def domain(self) -> str:
        """light, sensor, ..."""
        return self.entity_id.split(".", 1)[0]

    def line(self) -> str:
        """One line for the model: id, name, area, state with its unit."""
        where = f" in {self.area}" if self.area else ""
        unit = f" {self.unit}" if self.unit else ""
        kind = f" ({self.device_class})" if self.device_class else ""
        return f"{self.entity_id}: {self.name}{kind}{where} is {self.state}{unit}"


def _words(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


class HomeState:
    """The exposed entities' latest states, bounded in number."""

    def __init__(self, limit: int = MAX_ENTITIES) -> None:
        """Empty until HA's retained states arrive."""
        self.limit = limit
        self._entities: dict[str, EntityState] = {}

    def __len__(self) -> int:
        """Entities known."""
        return len(self._entities)

    def update(self, entity_id: str, payload: dict[str, Any] | None) -> None:
        """A new state (None: HA no longer exposes it); ValueError if it is not a state."""
        if payload is None:
            self._entities.pop(entity_id, None)
            return
        entity = EntityState.parse(payload)
        if entity.entity_id != entity_id:
            raise ValueError(
                f"the topic names {entity_id}, the state {entity.entity_id}"
            )
        if entity_id not in self._entities and len(self._entities) >= self.limit:
            raise ValueError(f"more than {self.limit} entities")
        self._entities[entity_id] = entity

    def find(
        self,
        area: str | None = None,
        domain: str | None = None,
        name: str | None = None,
    ) -> list[EntityState]:
        """Entities whose area, domain and name (or id) match, sorted by id."""
        found = []
        for entity in self._entities.values():
            if domain and entity.domain != domain.strip().lower():
                continue
            if area and _words(area) not in _words(entity.area or ""):
                continue
            if name and not (
                _words(name) in _words(entity.name)
                or _words(name) in _words(entity.entity_id)
            ):
                continue
            found.append(entity)
        return sorted(found, key=lambda e: e.entity_id)


class HomeCommands:
    """Commands to HA through the bus, each waiting for HA's answer."""

    def __init__(
        self,
        publish: Callable[[dict[str, Any], str], Awaitable[None]],
        reply_topic: str,
    ) -> None:
        """publish(payload, message id) sends one ha/command request."""
        self._publish = publish
        self.reply_topic = reply_topic
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """HA's answer: {"status": "done"} or {"status": "refused", "error": ...}."""
        if len(self._waiting) >= MAX_PENDING_COMMANDS:
            raise CommandFailed("too many commands are waiting for Home Assistant")
        message_id = str(uuid.uuid4())
        answer: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[message_id] = answer
        try:
            await self._publish(payload, message_id)
            async with asyncio.timeout(COMMAND_TIMEOUT):
                return await answer
        except TimeoutError as err:
            raise CommandFailed(
                f"Home Assistant did not answer within {COMMAND_TIMEOUT:g} s"
            ) from err
        finally:
            self._waiting.pop(message_id, None)

    def answered(self, response: Envelope) -> None:
        """HA's answer to one of ours (others are ignored)."""
        waiting = self._waiting.get(response.correlation_id or "")
        if waiting is not None and not waiting.done():
            waiting.set_result(response.payload)
        else:
            _LOGGER.debug("Answer to no command of ours: %s", response.correlation_id)
