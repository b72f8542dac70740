"""The hub's gate: rate limits, signatures and replay checks on every message, and its own signing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
import json
import logging
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN, SIGNAL_HUB_UPDATE
from .protocol import Message
from .security import (
    MODE_VERIFY,
    Audit,
    Buckets,
    Freshness,
    HubKey,
    Refusal,
    inspect,
)

_LOGGER = logging.getLogger(__name__)
EVENT_SECURITY = f"{DOMAIN}_security_event"
REPORT_EVERY_SECONDS = 60.0


class BusGuard:
    """Decides which messages get through, counts the rest, and signs what the hub sends."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, key: HubKey, mode: str = MODE_VERIFY
    ) -> None:
        """One per config entry; the key comes from the hub's store."""
        self.hass = hass
        self.entry_id = entry_id
        self.key = key
        self.mode = mode
        self.freshness = Freshness()
        self.buckets = Buckets()
        self.audit = Audit()
        self._reported: dict[str, float] = {}
        self._update_timer: asyncio.TimerHandle | None = None

    def _changed(self) -> None:
        """Refresh the hub's entities at most once a second, however fast messages come."""
        if self._update_timer is not None:
            return

        def update() -> None:
            self._update_timer = None
            async_dispatcher_send(self.hass, SIGNAL_HUB_UPDATE.format(self.entry_id))

        self._update_timer = self.hass.loop.call_later(1, update)

    def close(self) -> None:
        """Drop a pending entity refresh (the entry is going away)."""
        if self._update_timer is not None:
            self._update_timer.cancel()
            self._update_timer = None

    def admit(
        self, topic: str, read: Message, key: str | None, retained: bool = False
    ) -> bool:
        """Whether a parsed message may be acted on; refusals are counted and reported."""
        if not self.buckets.take(read.source):
            self.refuse("rate_limited", read.source, topic, "over its rate limit")
            return False
        try:
            outcome = inspect(
                topic, read.raw, mode=self.mode, key=key, freshness=self.freshness,
                sent=read.timestamp, now=datetime.now(UTC), retained=retained,
            )  # fmt: skip
        except Refusal as refusal:
            self.refuse(refusal.code, read.source, topic, str(refusal))
            return False
        if outcome in ("unsigned", "untrusted"):
            self.audit.counts[f"{outcome}_accepted"] += 1
            if read.source not in self.audit.unsigned_sources:
                self.audit.unsigned_sources.add(read.source)
                _LOGGER.info(
                    "%s sends messages without a verifiable signature", read.source
                )
            self._changed()
        elif outcome == "verified":
            self.audit.counts["verified"] += 1
        return True

    def refuse(self, code: str, source: str, topic: str, why: str) -> None:
        """Count a refusal; log it (once a minute per source and reason), and report serious ones."""
        self.audit.record(code, source, topic)
        self._changed()
        now = time.monotonic()
        key = f"{code}:{source}"
        if now - self._reported.get(key, -REPORT_EVERY_SECONDS) < REPORT_EVERY_SECONDS:
            return
        if len(self._reported) > 1000:
            self._reported.clear()
        self._reported[key] = now
        _LOGGER.warning(
            "Refused a message from %s on %s: %s (%s)", source, topic, why, code
        )
        self.hass.bus.async_fire(
            EVENT_SECURITY, {"code": code, "source": source, "topic": topic}
        )
        if code == "bad_signature":
            ir.async_create_issue(
                self.hass, DOMAIN, f"bad_signature_{source}", is_fixable=False,
                severity=ir.IssueSeverity.ERROR, translation_key="bad_signature",
                translation_placeholders={"source": source, "topic": topic},
            )  # fmt: skip

    def approved(self, device_id: str) -> None:
        """Count an approval, and clear the device's old signature alarms."""
        self.audit.record("approvals", device_id, "")
        ir.async_delete_issue(self.hass, DOMAIN, f"bad_signature_{device_id}")

    def seal(self, topic: str, message: dict[str, Any]) -> str:
        """The message signed for topic (unless security is off), as JSON text."""
        # Round-trip first: what is signed must be exactly what receivers parse.
        plain: dict[str, Any] = json.loads(json.dumps(message, default=str))
        if self.mode != "off":
            self.key.sign(topic, plain)
        return json.dumps(plain)

    async def async_publish_trust(
        self, prefix: str, envelope: Any, devices: Iterable[tuple[str, str]]
    ) -> None:
        """Publish (retained) the hub's key and the signed list of approved device keys."""
        hub_topic = f"{prefix}/system/security/hub"
        trust_topic = f"{prefix}/system/security/trust"
        hub_message = envelope(
            "broadcast", "event",
            {"public_key": self.key.public_key, "fingerprint": self.key.fingerprint},
        )  # fmt: skip
        trust_message = envelope(
            "broadcast", "event", {"mode": self.mode, "devices": dict(devices)}
        )
        # Signed whatever the mode: the bridge must be able to trust "mode: off" too.
        for topic, message in ((hub_topic, hub_message), (trust_topic, trust_message)):
            self.key.sign(topic, message)
            await mqtt.async_publish(self.hass, topic, json.dumps(message), 1, True)
