"""Repairs: approving a device that is waiting, from Settings → Repairs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant

from .const import DOMAIN
from .markdown import literal

if TYPE_CHECKING:
    # Typed against the newest HA (2026.2 has no RepairsFlowResult; annotations are not evaluated).
    from homeassistant.components.repairs import RepairsFlowResult


class ApproveDeviceFlow(RepairsFlow):
    """Approve, or reject, one pending device."""

    def __init__(
        self,
        entry_id: str,
        device_id: str,
        fingerprint: str | None,
        shown: str | None = None,
    ) -> None:
        """For the device, the key and all else the card the user opened shows."""
        self.entry_id = entry_id
        self.device_id = device_id
        self.fingerprint = fingerprint
        self.shown = shown

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Show the choice."""
        return self.async_show_menu(step_id="init", menu_options=["approve", "reject"])

    def _hub(self) -> Any:
        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        return (
            None
            if entry is None or entry.domain != DOMAIN
            else getattr(entry, "runtime_data", None)
        )

    async def async_step_approve(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Trust the device."""
        hub = self._hub()
        if hub is None or self.device_id not in hub.approvals.pending:
            return self.async_abort(reason="device_gone")
        if (changed := self._changed(hub)) is not None:
            return self.async_abort(reason=changed)
        name = hub.approvals.pending[self.device_id].name
        # The key and all else shown were checked just now (_changed): nothing
        # can have arrived between the check and the approval.
        hub.approvals.approve(self.device_id, self.fingerprint)
        return self._done("device_approved", name)

    async def async_step_reject(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Refuse it: a new device is forgotten (it may ask again); a new key is dropped."""
        hub = self._hub()
        if hub is None or self.device_id not in hub.approvals.pending:
            return self.async_abort(reason="device_gone")
        if (changed := self._changed(hub)) is not None:
            return self.async_abort(reason=changed)
        name = hub.approvals.pending[self.device_id].name
        hub.approvals.reject(self.device_id)
        return self._done("device_refused", name)

    def _changed(self, hub: Any) -> str | None:
        """Why the request waiting now is not the one the card showed, if it is not."""
        shown_key = hub.approvals.card(hub.approvals.pending[self.device_id])[
            "fingerprint"
        ]
        if self.fingerprint is not None and shown_key != self.fingerprint:
            return "key_changed_meanwhile"
        if not hub.approvals.still_shown(self.device_id, self.shown):
            return "changed_meanwhile"
        return None

    def _done(self, reason: str, name: str) -> RepairsFlowResult:
        """The user's decision in words.

        An abort, not an entry: HA would end with "The issue is repaired!", and a
        request decided is no repair (approve and reject delete the issue themselves).
        """
        return self.async_abort(
            reason=reason, description_placeholders={"name": literal(name)}
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The flow for a pending-device issue."""
    assert data is not None
    fingerprint, shown = data.get("fingerprint"), data.get("shown")
    return ApproveDeviceFlow(
        str(data["entry_id"]),
        str(data["device_id"]),
        str(fingerprint) if fingerprint is not None else None,
        str(shown) if shown is not None else None,
    )
