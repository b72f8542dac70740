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
from alicia_bus.errors import ProtocolError
from alicia_bus.home import CommandAnswer, HaCommand, HaState

_LOGGER = logging.getLogger(__name__)
# HA's own limits make far fewer; a flood of states must not grow without end.
MAX_ENTITIES = 5000
MAX_PENDING_COMMANDS = 16
COMMAND_TIMEOUT = 8.0


class CommandFailed(Exception):
    """A command that got no answer; the text says why."""


@dataclass(frozen=True, slots=True)
class EntityState:
    """One exposed entity, as the model is shown it."""

    entity_id: str
    name: str
    state: str
    area: str | None = None
    unit: str | None = None
    device_class: str | None = None

    @classmethod
    def of(cls, published: HaState) -> EntityState:
        """From HA's published state, its texts cut to a length a prompt can hold."""

        def cut(value: str | None) -> str | None:
            return value[:120] if value else None

        return cls(
            published.entity_id,
            cut(published.text("friendly_name")) or published.entity_id,
            cut(published.state) or "unknown",
            cut(published.area),
            cut(published.text("unit_of_measurement")),
            cut(published.text("device_class")),
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
        """A new state (None: HA no longer exposes it); ProtocolError if it is not a state."""
        if payload is None:
            self._entities.pop(entity_id, None)
            return
        entity = EntityState.of(HaState.parse(payload))
        if entity.entity_id != entity_id:
            raise ProtocolError(
                "invalid_field",
                f"the topic names {entity_id}, the state {entity.entity_id}",
            )
        if entity_id not in self._entities and len(self._entities) >= self.limit:
            raise ProtocolError("too_large", f"more than {self.limit} entities")
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
        publish: Callable[[HaCommand, str], Awaitable[None]],
        reply_topic: str,
    ) -> None:
        """publish(command, message id) sends one ha/command request."""
        self._publish = publish
        self.reply_topic = reply_topic
        self._waiting: dict[str, asyncio.Future[CommandAnswer]] = {}

    async def run(self, command: HaCommand) -> CommandAnswer:
        """HA's answer: done, or refused and why."""
        if len(self._waiting) >= MAX_PENDING_COMMANDS:
            raise CommandFailed("too many commands are waiting for Home Assistant")
        message_id = str(uuid.uuid4())
        answer: asyncio.Future[CommandAnswer] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[message_id] = answer
        try:
            await self._publish(command, message_id)
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
            waiting.set_result(CommandAnswer.parse(response.payload))
        else:
            _LOGGER.debug("Answer to no command of ours: %s", response.correlation_id)
