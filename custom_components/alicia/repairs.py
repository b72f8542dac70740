"""Repairs: an approved device offering another key, or asking for more, waits for the user's decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .markdown import literal

if TYPE_CHECKING:
    # Typed against the newest HA (2026.2 has no RepairsFlowResult; annotations are not evaluated).
    from homeassistant.components.repairs import RepairsFlowResult


def ask_about_change(
    hass: HomeAssistant, entry_id: str, placeholders: dict[str, str], shown: str
) -> None:
    """The repair card of an approved device's request: another key, or more than approved."""
    device_id = placeholders["device_id"]
    same_key = placeholders["old_fingerprint"] == placeholders["fingerprint"]
    ir.async_create_issue(
        hass, DOMAIN, f"pending_{device_id}",
        is_fixable=True, is_persistent=False, severity=ir.IssueSeverity.ERROR,
        translation_key="more_asked" if same_key else "key_changed",
        translation_placeholders=placeholders,
        data={
            "entry_id": entry_id, "device_id": device_id,
            "fingerprint": placeholders["fingerprint"], "shown": shown,
        },
    )  # fmt: skip


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
