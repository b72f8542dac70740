"""Home Assistant's exposed entities as the bus shows them, and its commands' answers.

HA publishes the state of every entity exposed to Assist on
`integration/ha/state/{entity_id}` (retained) and answers `integration/ha/command`;
this keeps the first and waits for the second. HA decides what may be done.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
import json
import logging
import uuid

from alicia_bus.envelope import Envelope
from alicia_bus.errors import ProtocolError
from alicia_bus.home import CommandAnswer, HaCommand, HaState
from alicia_bus.send_times import not_ahead
from alicia_bus.topics import HUB_SOURCE

_LOGGER = logging.getLogger(__name__)
# HA's own limits make far fewer; a flood of states must not grow without end.
MAX_ENTITIES = 5000
# What one device (with the children behind it) may take of them.
MAX_PER_DEVICE = 256
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
        """One line for the model: id, name, area, state with its unit.

        What devices and users wrote (names, areas, states) is quoted as JSON
        strings: data for the model to read, never text that can break out of its
        quotes and pose as an instruction.
        """
        where = f" in {_quoted(self.area)}" if self.area else ""
        unit = f" {self.unit}" if self.unit else ""
        kind = f" ({self.device_class})" if self.device_class else ""
        said = _quoted(f"{self.state}{unit}")
        return f"{self.entity_id}: {_quoted(self.name)}{kind}{where} is {said}"


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _words(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


@dataclass(frozen=True, slots=True)
class _Held:
    """An entity as shown, when HA sent it (its signed timestamp), and whose it is."""

    entity: EntityState
    sent: datetime
    device: str | None


class HomeState:
    """The exposed entities' latest states, bounded in number and per device.

    Only newer states count (a retained old one replayed is ignored); when full, the
    least recently updated device's entity goes first, Home Assistant's own last.
    """

    def __init__(
        self, limit: int = MAX_ENTITIES, per_device: int = MAX_PER_DEVICE
    ) -> None:
        """Empty until HA's retained states arrive."""
        self.limit = limit
        self.per_device = per_device
        # Least recently updated first: HA's own entities, and the devices'.
        self._own: OrderedDict[str, _Held] = OrderedDict()
        self._devices: OrderedDict[str, _Held] = OrderedDict()
        self._by_device: dict[str, OrderedDict[str, None]] = {}
        # When each entity was last removed, so an older state cannot bring it back.
        self._removed: OrderedDict[str, datetime] = OrderedDict()

    def __len__(self) -> int:
        """Entities known."""
        return len(self._own) + len(self._devices)

    def _held(self, entity_id: str) -> _Held | None:
        return self._own.get(entity_id) or self._devices.get(entity_id)

    def update(self, entity_id: str, published: HaState, sent: datetime) -> bool:
        """Take HA's state (or tombstone) sent at `sent`; False if older than what is held.

        ProtocolError if it names another entity than its topic, or if it is a device's
        and the table is full of Home Assistant's own.
        """
        if published.entity_id != entity_id:
            raise ProtocolError(
                "invalid_field",
                f"the topic names {entity_id}, the state {published.entity_id}",
            )
        held = self._held(entity_id)
        newest = held.sent if held else self._removed.get(entity_id)
        if newest is not None and sent < newest:
            return False
        sent = not_ahead(sent)  # one state HA dated ahead must not shut out the rest
        self._drop(entity_id)
        if published.removed:
            self._removed[entity_id] = sent
            while len(self._removed) > self.limit:
                self._removed.popitem(last=False)
            return True
        self._removed.pop(entity_id, None)
        self._make_room(published.device)
        entry = _Held(EntityState.of(published), sent, published.device)
        if published.device is None:
            self._own[entity_id] = entry
        else:
            self._devices[entity_id] = entry
            self._by_device.setdefault(published.device, OrderedDict())[entity_id] = (
                None
            )
        return True

    def _make_room(self, device: str | None) -> None:
        """Evict for one more entity of `device` (None: HA's own), or ProtocolError."""
        if (
            device is not None
            and len(self._by_device.get(device, ())) >= self.per_device
        ):
            # A device (its children included) takes at most its share: its own oldest goes.
            self._drop(next(iter(self._by_device[device])))
            return
        if len(self) < self.limit:
            return
        if self._devices:
            self._drop(next(iter(self._devices)))
        elif device is None:
            self._drop(next(iter(self._own)))
        else:
            raise ProtocolError("too_large", f"more than {self.limit} entities")

    def _drop(self, entity_id: str) -> None:
        self._own.pop(entity_id, None)
        held = self._devices.pop(entity_id, None)
        if held is not None and held.device is not None:
            owned = self._by_device[held.device]
            owned.pop(entity_id, None)
            if not owned:
                del self._by_device[held.device]

    def find(
        self,
        area: str | None = None,
        domain: str | None = None,
        name: str | None = None,
    ) -> list[EntityState]:
        """Entities whose area, domain and name (or id) match, sorted by id."""
        found = []
        for held in (*self._own.values(), *self._devices.values()):
            entity = held.entity
            if domain and entity.domain != domain.strip().lower():
                continue
            if area and _words(area) not in _words(entity.area or ""):
                continue
            if name and not (
                _words(name) in _words(entity.entity_id)
                or _words(name) in _words(entity.name)
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
        """HA's answer to a command of ours, taken once; anything else is ignored.

        The caller has verified HA's signature. An error without a status is not an
        answer: HA sends one to whoever claimed our id and reply topic on a broken
        command (its signature, our id), and it says nothing of what our command did.
        """
        waiting = self._waiting.get(response.correlation_id or "")
        if response.source != HUB_SOURCE or not isinstance(
            response.payload.get("status"), str
        ):
            _LOGGER.warning(
                "Ignored a message on %s that is not Home Assistant's answer",
                self.reply_topic,
            )
        elif waiting is not None and not waiting.done():
            waiting.set_result(CommandAnswer.parse(response.payload))
        else:
            _LOGGER.debug("Answer to no command of ours: %s", response.correlation_id)
