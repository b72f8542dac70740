"""Repairs: an approved device offering another key, asking for more, or both, waits for the user's decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant

from .approval_card import shown_digest
from .const import DOMAIN
from .markdown import literal

if TYPE_CHECKING:
    # Typed against the newest HA (2026.2 has no RepairsFlowResult; annotations are not evaluated).
    from homeassistant.components.repairs import RepairsFlowResult


class ApproveDeviceFlow(RepairsFlow):
    """Trust the new key of a device, or keep the approved one."""

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
        """Show the choice, with the request as it is now: the decision is bound to it.

        The frontend's list of issues may be older than the request: the dialog shows
        what the flow decides on, never the list's copy. Its text is its step's (one
        per kind of request), so an older issue's cannot stand over another request.
        """
        hub = self._hub()
        record = hub.approvals.pending.get(self.device_id) if hub else None
        if record is None:
            return self.async_abort(reason="device_gone")
        placeholders = hub.approvals.card(record)
        if (kind := placeholders.get("kind")) is None:
            return self.async_abort(reason="device_gone")  # a stranger's request now
        self.fingerprint = placeholders["fingerprint"]
        self.shown = shown_digest(placeholders)
        return self.async_show_menu(
            step_id=kind,
            menu_options=["approve", "reject"],
            description_placeholders=placeholders,
        )

    async def async_step_key_changed(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """The card of another key (the frontend reopens a step by its id)."""
        return await self.async_step_init()

    async def async_step_more_asked(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """The card of a request for more."""
        return await self.async_step_init()

    async def async_step_key_changed_more(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """The card of another key asking for more."""
        return await self.async_step_init()

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
        """Trust the new key."""
        return self._decide(approve=True)

    async def async_step_reject(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Keep the approved key."""
        return self._decide(approve=False)

    def _decide(self, approve: bool) -> RepairsFlowResult:
        """The user's choice, on exactly the request the card showed."""
        hub = self._hub()
        if hub is None:
            return self.async_abort(reason="device_gone")
        approvals = hub.approvals
        if problem := approvals.decision_problem(
            self.device_id, self.fingerprint, self.shown
        ):
            return self.async_abort(reason=problem)
        name = approvals.pending[self.device_id].name
        # Checked just now: nothing can have arrived between the check and the decision.
        if approve:
            approvals.approve(self.device_id, self.fingerprint)
            return self._done("device_approved", name)
        approvals.reject(self.device_id)
        return self._done("device_refused", name)

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
