"""A device's availability on its status topic, and its last will."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ProtocolError
from .topics import is_identifier


@dataclass(frozen=True, slots=True)
class Status:
    """online or offline; session names the connection (its will carries the same).

    A signed last will is signed when the device connects, so it is old by the time
    the broker sends it: it counts only with the session of the device's newest
    online message, and only once (docs/protocol.md).
    """

    online: bool
    session: str | None = None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Status:
        """Validate: state online or offline; session an id, if given."""
        state, session = payload.get("state"), payload.get("session")
        if state not in ("online", "offline"):
            raise ProtocolError(
                "invalid_field", 'payload.state: must be "online" or "offline"'
            )
        if session is not None and not is_identifier(session):
            raise ProtocolError(
                "invalid_field", "payload.session: must be an id (a-z, 0-9, _ and -)"
            )
        return cls(state == "online", session)

    def to_payload(self) -> dict[str, Any]:
        """As published on devices/{id}/status."""
        state = "online" if self.online else "offline"
        return {"state": state} | ({"session": self.session} if self.session else {})
