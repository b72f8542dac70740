"""Which bus messages the hub acts on (rate, signature, replay), what it refused, and its signing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import logging
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .bus.envelope import Envelope, new_message
from .bus.errors import SecurityError
from .bus.gate import Gate
from .bus.limits import RateLimiter
from .bus.policy import Mode, retained_state
from .bus.signing import KeyPair
from .bus.topics import HUB_SOURCE, Kind
from .bus.trust_list import TrustList, listed_areas
from .const import DOMAIN, SIGNAL_HUB_UPDATE

_LOGGER = logging.getLogger(__name__)
EVENT_SECURITY = f"{DOMAIN}_security_event"
REPORT_EVERY_SECONDS = 60.0
# Per source: a sensor reporting every second uses a tenth of this.
RATE = 10.0
BURST = 50.0
# A satellite's audio chunks have a budget of their own (50 chunks of 20 ms a second,
# 2 s of pre-roll at once): a run never starves its device's other messages.
AUDIO_RATE = 60.0
AUDIO_BURST = 120.0
# Bounds on what is remembered per sender (forged sources must not grow them).
MAX_UNSIGNED_SOURCES = 1000
MAX_REPORTED = 1000
NOT_REFUSALS = ("unsigned_accepted", "untrusted_accepted", "approvals", "verified")


def next_serial(last: int) -> int:
    """The next trust list's serial: the time in milliseconds, or past the last one if later."""
    # The time moves it on past a restore of an older store; the last one, past a
    # list signed while HA's clock was ahead (so its replay stays older).
    return max(last + 1, int(datetime.now(UTC).timestamp() * 1000))


@dataclass(slots=True)
class Audit:
    """What security refused or flagged, for the sensor and diagnostics."""

    counts: Counter[str] = field(default_factory=Counter)
    unsigned_sources: set[str] = field(default_factory=set)
    last: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> int:
        """Messages refused for security (flags and approvals are not refusals)."""
        return sum(n for code, n in self.counts.items() if code not in NOT_REFUSALS)

    def record(self, code: str, source: str, topic: str) -> None:
        """Count one event; remember the newest (no payloads: they may hold secrets)."""
        self.counts[code] += 1
        self.last = {"code": code, "source": source, "topic": topic, "at": time.time()}


class Admission:
    """Decides which messages get through, counts the rest, and signs what the hub sends."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, key: KeyPair, mode: Mode = Mode.VERIFY
    ) -> None:
        """One per config entry; the key comes from the hub's store."""
        self.hass = hass
        self.entry_id = entry_id
        self.key = key
        self.gate = Gate(mode, RateLimiter(RATE, BURST))
        self.audio_gate = Gate(
            mode, RateLimiter(AUDIO_RATE, AUDIO_BURST), self.gate.window
        )
        self.audit = Audit()
        # The serial of the last trust list signed (the hub stores it).
        self.trust_serial = 0
        self._reported: dict[str, float] = {}
        self._update_timer: asyncio.TimerHandle | None = None

    @property
    def mode(self) -> Mode:
        """The security mode in force."""
        return self.gate.mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self.gate.mode = self.audio_gate.mode = mode

    @property
    def fingerprint(self) -> str:
        """The hub's key's fingerprint."""
        return self.key.fingerprint

    def changed(self) -> None:
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
        self, topic: str, read: Envelope, key: str | None, retained: bool = False
    ) -> bool:
        """Whether a parsed message may be acted on; refusals are counted and reported."""
        gate = self.audio_gate if read.kind is Kind.SATELLITE_AUDIO else self.gate
        try:
            verdict = gate.admit(
                topic,
                read.raw,
                key=key,
                sent=read.timestamp,
                now=datetime.now(UTC),
                retained=retained_state(read.kind, retained),
            )
        except SecurityError as refusal:
            self.refuse(refusal.code, read.source, topic, str(refusal))
            return False
        if verdict.reason in ("unsigned", "untrusted"):
            self.audit.counts[f"{verdict.reason}_accepted"] += 1
            unsigned = self.audit.unsigned_sources
            if read.source not in unsigned and len(unsigned) < MAX_UNSIGNED_SOURCES:
                unsigned.add(read.source)
                _LOGGER.info(
                    "%s sends messages without a verifiable signature", read.source
                )
            self.changed()
        elif verdict.verified:
            self.audit.counts["verified"] += 1
            if read.source in self.audit.unsigned_sources:
                # It signs now (since its approval): no longer an unsigned source.
                self.audit.unsigned_sources.discard(read.source)
                self.changed()
        return True

    def may_act_with(self, key: str | None) -> bool:
        """Whether a device approved with this key (None: none) may make HA act on the home.

        Unless security is off, only with a key: any broker client can send in the
        name of a device without one, so its word moves nothing in the home.
        """
        return key is not None or self.mode is Mode.OFF

    def refuse(self, code: str, source: str, topic: str, why: str) -> None:
        """Count a refusal; log it (once a minute per source and reason), and report serious ones."""
        self.audit.record(code, source, topic)
        self.changed()
        now = time.monotonic()
        key = f"{code}:{source}"
        if now - self._reported.get(key, -REPORT_EVERY_SECONDS) < REPORT_EVERY_SECONDS:
            return
        if len(self._reported) >= MAX_REPORTED:
            # Forget reports older than the interval; the table stays bounded.
            self._reported = {
                k: t
                for k, t in self._reported.items()
                if now - t < REPORT_EVERY_SECONDS
            }
            if len(self._reported) >= MAX_REPORTED:
                return
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

    def seal(self, topic: str, message: dict[str, Any]) -> bytes:
        """The message signed for topic (unless security is off), encoded."""
        if self.mode is Mode.OFF:
            return json.dumps(message, default=str).encode()
        return self.key.seal(topic, message)

    async def async_publish_trust(
        self,
        prefix: str,
        devices: Iterable[tuple[str, str]],
        areas: dict[str, str] | None = None,
        keep: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Publish (retained) the hub's key and the signed list of approved device keys (and their areas).

        keep() stores the list's serial before the list goes out.
        """
        hub_topic = f"{prefix}/system/security/hub"
        trust_topic = f"{prefix}/system/security/trust"
        hub_message = new_message(
            HUB_SOURCE, "event",
            {"public_key": self.key.public_key, "fingerprint": self.key.fingerprint},
        )  # fmt: skip
        listed = dict(devices)
        self.trust_serial = next_serial(self.trust_serial)
        if keep is not None:
            # Lost in a power cut after the list went out, with HA's clock ahead then
            # and right at the restart, the lists after would be numbered below it:
            # the bridges would ignore them (a revocation too) until the clock got there.
            await keep()
        trust = TrustList(
            self.mode, listed, listed_areas(areas, listed), self.trust_serial
        )
        trust_message = new_message(HUB_SOURCE, "event", trust.document())
        # Signed whatever the mode: the bridge must be able to trust "mode: off" too.
        try:
            for topic, message in (
                (hub_topic, hub_message),
                (trust_topic, trust_message),
            ):
                await mqtt.async_publish(
                    self.hass, topic, self.key.seal(topic, message), 1, True
                )
        except HomeAssistantError as err:
            # MQTT is down: both go out again when it connects (__init__.py).
            _LOGGER.debug("Trust list not published: %s", err)
