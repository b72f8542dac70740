"""Registrations Alicia refused, as repair issues that say why."""

from __future__ import annotations

from collections.abc import Container

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .bus.text import plain
from .bus.topics import is_identifier
from .const import DOMAIN
from .markdown import literal

# Anyone on the broker can send refusals under any id: the cards of ids not approved
# are bounded (the newest replace the oldest); an approved id has one card at most.
MAX_REFUSED = 20


class RefusedRegistrations:
    """The last refusal of each device id, shown in Settings → Repairs."""

    def __init__(self, hass: HomeAssistant, approved: Container[str]) -> None:
        """Nothing refused yet; approved: the ids of the approved devices."""
        self.hass = hass
        self.approved = approved
        self.reasons: dict[str, str] = {}

    def refused(self, topic: str, reason: str) -> None:
        """A registration on register/{id} was refused: raise (or update) its card."""
        parts = topic.split("/")
        device_id = parts[-1]
        if len(parts) != 5 or not is_identifier(device_id):
            return  # no id in the topic: nobody to name
        if device_id not in self.reasons and device_id not in self.approved:
            strangers = [d for d in self.reasons if d not in self.approved]
            for oldest in strangers[: max(0, len(strangers) - MAX_REFUSED + 1)]:
                self.accepted(oldest)
        self.reasons.pop(device_id, None)
        self.reasons[device_id] = reason
        ir.async_create_issue(
            self.hass, DOMAIN, f"refused_{device_id}",
            is_fixable=False, is_persistent=False, severity=ir.IssueSeverity.WARNING,
            translation_key="refused_registration",
            # The card renders Markdown; the reason may quote the device's text. An id
            # ([a-z0-9_-]) is shown as it is: in the title and in a code span alike.
            translation_placeholders={
                "device_id": device_id,
                "reason": literal(plain(reason, 300)),
            },
        )  # fmt: skip

    def accepted(self, device_id: str) -> None:
        """A registration of this id was read: its card goes."""
        if self.reasons.pop(device_id, None) is not None:
            ir.async_delete_issue(self.hass, DOMAIN, f"refused_{device_id}")

    def clear(self) -> None:
        """Alicia unloads: its cards go with it."""
        for device_id in list(self.reasons):
            self.accepted(device_id)
