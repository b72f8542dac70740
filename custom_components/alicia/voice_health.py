"""The app's voice server as the user must see it: repairs when it stops answering or pins another hub key."""

from __future__ import annotations

import logging
import time

from homeassistant.helpers import issue_registry as ir

from .bus.payloads import Health, Heartbeat
from .const import DOMAIN
from .context import HubContext
from .device import AliciaDevice
from .device_data import serves_voice
from .markdown import literal, title

_LOGGER = logging.getLogger(__name__)
# A voice server that said offline (the app restarting, say) gets this long to
# come back before its repair; silence is already 3 heartbeat intervals long.
OFFLINE_GRACE_SECONDS = 60.0


def hub_key_mismatch(hub: HubContext, device: AliciaDevice) -> bool | None:
    """Whether the bridge's latest heartbeat pins another hub key than HA's; None if it names none."""
    pinned = (device.health or {}).get("hub_key")
    return None if pinned is None else pinned != hub.admission.key.fingerprint


class VoiceServerWatch:
    """Raises and clears the voice servers' repairs: their hub key, their liveness."""

    def __init__(self, hub: HubContext) -> None:
        """Silence counts from now for servers not heard from since HA started."""
        self.hub = hub
        self._started = time.monotonic()
        self._offline_since: dict[str, float] = {}

    def on_heartbeat(self, device: AliciaDevice, heartbeat: Heartbeat) -> None:
        """A bridge's pin of the hub key: a repair while it is not the key HA signs with."""
        if not serves_voice(self.hub, device):
            return  # another device's word on HA's key is not asked for
        issue_id = f"hub_key_mismatch_{device.device_id}"
        current = self.hub.admission.key.fingerprint
        pinned = heartbeat.hub_key
        if pinned is None or pinned == current:
            ir.async_delete_issue(self.hub.hass, DOMAIN, issue_id)
            return
        if self._raised(issue_id, "hub_key_mismatch", pinned):
            return
        _LOGGER.warning(
            "Bridge %s pinned Home Assistant's key %s; Home Assistant signs with %s",
            device.device_id, pinned, current,
        )  # fmt: skip
        ir.async_create_issue(
            self.hub.hass, DOMAIN, issue_id, is_fixable=False,
            severity=ir.IssueSeverity.ERROR, translation_key="hub_key_mismatch",
            translation_placeholders={
                "name": literal(device.name), "title_name": title(device.name),
                "pinned": pinned, "current": current,
            },
        )  # fmt: skip

    def check(self, device: AliciaDevice) -> None:
        """A voice server silent, offline for a while, or unhealthy: a repair; back: none."""
        if not serves_voice(self.hub, device):
            return
        issue_id = f"voice_server_{device.device_id}"
        why, seconds = self._down(device)
        if why is None:
            ir.async_delete_issue(self.hub.hass, DOMAIN, issue_id)
            return
        if self._raised(issue_id, why):
            return
        _LOGGER.warning("Voice server %s: %s", device.device_id, why)
        ir.async_create_issue(
            self.hub.hass, DOMAIN, issue_id, is_fixable=False,
            severity=ir.IssueSeverity.ERROR, translation_key=why,
            translation_placeholders={
                "name": literal(device.name), "seconds": f"{seconds:.0f}",
            },
        )  # fmt: skip

    def _down(self, device: AliciaDevice) -> tuple[str | None, float]:
        """Why the voice server is down (a translation key) and for how long, or None."""
        now = time.monotonic()
        if device.offline:
            since = self._offline_since.setdefault(device.device_id, now)
            if now - since >= OFFLINE_GRACE_SECONDS:
                return "voice_server_offline", now - since
            return None, 0.0
        self._offline_since.pop(device.device_id, None)
        silent = now - (device.last_seen or self._started)
        timeout = self.hub.heartbeat_factor * device.record.heartbeat_interval
        if silent > timeout:
            return "voice_server_silent", silent
        if device.health_status is Health.UNHEALTHY:
            return "voice_server_unhealthy", 0.0
        return None, 0.0

    def _raised(self, issue_id: str, key: str, pinned: str | None = None) -> bool:
        """Whether the issue is raised already, saying the same."""
        issue = ir.async_get(self.hub.hass).async_get_issue(DOMAIN, issue_id)
        if issue is None or issue.translation_key != key:
            return False
        return (
            pinned is None
            or (issue.translation_placeholders or {}).get("pinned") == pinned
        )
