"""The home's topics: HA's exposed states, and commands to HA with their answers.

`integration/ha/state/{entity_id}` carries an HaState, `integration/ha/command` an
HaCommand, answered by a CommandAnswer. Both ends build and read them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import re
from typing import Any, Literal, TypeGuard

from .errors import ProtocolError
from .topics import is_identifier

type Scalar = str | int | float | bool | None
# What a device needs to read a state (the rest of HA's attributes stay in HA).
STATE_ATTRIBUTES = (
    "friendly_name",
    "unit_of_measurement",
    "device_class",
    "brightness",
    "current_position",
    "volume_level",
)
# Every way HA's actions accept a target, in the target or in the action's data.
TARGET_KEYS = frozenset({"entity_id", "device_id", "area_id", "floor_id", "label_id"})
MAX_TARGETS = 64
_ENTITY_ID = re.compile(r"^[a-z0-9_]{1,64}\.[a-z0-9_]{1,255}$")
_ACTION = re.compile(r"^[a-z0-9_]{1,64}\.[a-z0-9_]{1,255}$")


def _invalid(message: str) -> ProtocolError:
    return ProtocolError("invalid_field", message)


def is_entity_id(value: object) -> TypeGuard[str]:
    """domain.object_id, as HA spells entity ids."""
    return isinstance(value, str) and _ENTITY_ID.fullmatch(value) is not None


def is_action(value: object) -> TypeGuard[str]:
    """domain.action, as HA spells actions."""
    return isinstance(value, str) and _ACTION.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class HaState:
    """One exposed entity's state, or (removed) that it is no longer exposed."""

    entity_id: str
    state: str
    area: str | None = None
    attributes: dict[str, Scalar] = field(default_factory=dict)
    last_changed: str | None = None
    # The Alicia device the entity comes from (its parent hub's id when it sits
    # behind one); None for Home Assistant's own entities.
    device: str | None = None
    # A signed tombstone: the empty retained message that clears the broker's copy
    # carries no signature, so it cannot be told from anyone's.
    removed: bool = False

    @classmethod
    def of(
        cls,
        entity_id: str,
        state: str,
        area: str | None,
        attributes: Mapping[str, Any],
        last_changed: str,
        *,
        device: str | None = None,
    ) -> HaState:
        """From HA's state: only STATE_ATTRIBUTES, and only plain values of them."""
        return cls(
            entity_id, state, area, _attributes(attributes), last_changed, device
        )

    @classmethod
    def tombstone(cls, entity_id: str) -> HaState:
        """The entity is no longer exposed (published signed, before the retained copy is cleared)."""
        return cls(entity_id, "", removed=True)

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> HaState:
        """From a payload; ProtocolError naming the field that is wrong."""
        entity_id, state = payload.get("entity_id"), payload.get("state")
        if not is_entity_id(entity_id):
            raise _invalid("payload.entity_id: must be an entity id (domain.name)")
        if payload.get("removed") is True:
            return cls.tombstone(entity_id)
        if not isinstance(state, str):
            raise _invalid("payload.state: must be a string")
        device = payload.get("device")
        if device is not None and not is_identifier(device):
            raise _invalid("payload.device: must be a device id or null")
        area, changed = payload.get("area"), payload.get("last_changed")
        if area is not None and not isinstance(area, str):
            raise _invalid("payload.area: must be a string or null")
        if changed is not None and not isinstance(changed, str):
            raise _invalid("payload.last_changed: must be a string")
        attributes = payload.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise _invalid("payload.attributes: must be an object")
        return cls(entity_id, state, area, _attributes(attributes), changed, device)

    def text(self, attribute: str) -> str | None:
        """An attribute as text (None when absent)."""
        value = self.attributes.get(attribute)
        return None if value is None or isinstance(value, bool) else str(value)

    def to_payload(self) -> dict[str, Any]:
        """The payload, as docs/protocol.md lists it."""
        if self.removed:
            return {"entity_id": self.entity_id, "removed": True}
        payload = {
            "entity_id": self.entity_id,
            "state": self.state,
            "area": self.area,
            "attributes": dict(self.attributes),
            "last_changed": self.last_changed,
        }
        return payload | ({"device": self.device} if self.device else {})


def _attributes(attributes: Mapping[str, Any]) -> dict[str, Scalar]:
    return {
        key: attributes[key]
        for key in STATE_ATTRIBUTES
        if isinstance(attributes.get(key), str | int | float | bool)
    }


@dataclass(frozen=True, slots=True)
class HaCommand:
    """An action on named entities; HA decides whether it may run."""

    action: str
    entity_ids: tuple[str, ...]
    # The action's own fields (brightness, position, ...), as HA's action takes them.
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        """The action's domain (light in light.turn_on)."""
        return self.action.split(".", 1)[0]

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> HaCommand:
        """From a payload; ProtocolError saying what is wrong, for the sender to read."""
        action = payload.get("action")
        if not is_action(action):
            raise _invalid('payload.action must be "domain.action"')
        target = payload.get("target") or {}
        if not isinstance(target, dict) or set(target) - {"entity_id"}:
            # Areas, devices, floors and labels would reach entities never exposed:
            # a device names the entities themselves (it sees them on ha/state/...).
            raise _invalid(
                "target may only name entity_id "
                "(areas, devices, floors and labels are refused)"
            )
        named = target.get("entity_id")
        entity_ids = [named] if isinstance(named, str) else named
        if (
            not isinstance(entity_ids, list)
            or not entity_ids
            or len(entity_ids) > MAX_TARGETS
            or not all(isinstance(e, str) for e in entity_ids)
        ):
            raise _invalid(
                f"target.entity_id must name the entities to act on (1 to {MAX_TARGETS})"
            )
        data = payload.get("data") or {}
        if not isinstance(data, dict) or set(data) & TARGET_KEYS:
            raise _invalid(
                f"payload.data must be an object without {', '.join(sorted(TARGET_KEYS))}"
            )
        return cls(action, tuple(entity_ids), data)

    def to_payload(self) -> dict[str, Any]:
        """The payload, as docs/protocol.md lists it."""
        return {
            "action": self.action,
            "target": {"entity_id": list(self.entity_ids)},
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class CommandAnswer:
    """What became of an HaCommand: done, or refused and why."""

    status: Literal["done", "refused"]
    reason: str | None = None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> CommandAnswer:
        """From a response payload; an unreadable one counts as refused."""
        if payload.get("status") == "done":
            return cls("done")
        error = payload.get("error")
        reason = error.get("message") if isinstance(error, dict) else None
        return cls("refused", reason if isinstance(reason, str) else None)

    def to_payload(self) -> dict[str, Any]:
        """The response payload, as docs/protocol.md lists it."""
        if self.status == "done":
            return {"status": "done"}
        return {
            "status": "refused",
            "error": {"code": "failed", "message": self.reason or "refused"},
        }
