"""What the bridge lets in: rate limits, the hub's pinned key, its signed trust list, signatures."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import logging
import math
from pathlib import Path
import time
from typing import Any

from alicia_bus.envelope import Envelope
from alicia_bus.errors import SecurityError
from alicia_bus.gate import Gate
from alicia_bus.limits import RateLimiter
from alicia_bus.log_limit import LimitedLog
from alicia_bus.policy import Mode, Verdict, retained_state
from alicia_bus.send_times import from_the_future, not_ahead
from alicia_bus.signing import fingerprint, is_fingerprint, valid_public_key, verify
from alicia_bus.topics import HUB_SOURCE, Kind
from alicia_bus.trust_list import TrustList, list_serial, listed_areas
from wyoming_services.keys import move_aside, write_private
from wyoming_services.settings import Settings

_LOGGER = logging.getLogger(__name__)
STRICTNESS = (Mode.OFF, Mode.VERIFY, Mode.ENFORCE)
# A hub key refused live: the broker's kept copy asked for again, at most this often.
ASK_AGAIN_SECONDS = 60.0


class Trust:
    """The hub's key (pinned like an SSH host key), the approved device keys, the mode."""

    def __init__(self, settings: Settings, key_file: Path) -> None:
        """Read a pinned hub key, if one was pinned before."""
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
        self.gate = Gate(Mode(settings.security_mode), self.limiter)
        self.devices: dict[str, str] = {}
        # Where each approved device is (its HA area's name), for Grok's "the lights".
        self.areas: dict[str, str] = {}
        # Whether `devices` is the list the hub key held now signed: only then do its
        # devices have authority (Grok's home tools). A list kept from a key the user
        # has replaced is a floor: its ids must still sign, its mode still holds.
        self.listed = False
        # The fingerprint of a hub key offered and refused (never taken by itself).
        self.refused_hub_key: str | None = None
        # Refused hub keys and trust lists: a flood of forged ones must not flood the log.
        self._refusals = LimitedLog(_LOGGER)
        self._asked = -math.inf
        self._hub_key_file = key_file.with_suffix(".hub")
        self.hub_key: str | None = self._read_pin()
        # The newest trust list, kept across restarts: an older list, re-published,
        # must not bring back an older mode (security off, say) or older keys.
        self._trust_file = key_file.with_suffix(".trust")
        self._trust_time: datetime | None = None
        # Its serial (None: from an older integration, or none kept): once lists have
        # one, it orders them, whatever their send times (HA's clock may have been ahead).
        self._trust_serial: int | None = None
        pin = settings.hub_key_fingerprint
        if self.hub_key is not None and pin and fingerprint(self.hub_key) != pin:
            # The user named another key: forget the one pinned on first sight. The
            # list it signed stays a floor (see _restore_trust): until the named
            # key's own list comes, a rogue key offered must not leave the bridge
            # more permissive than it was.
            _LOGGER.warning(
                "Forgetting Home Assistant's key %s: the add-on's option names %s",
                fingerprint(self.hub_key), pin,
            )  # fmt: skip
            self.hub_key = None
            self._hub_key_file.unlink()
        self._restore_trust()

    @property
    def mode(self) -> Mode:
        """The security mode in force (the hub's newest trust list, else the add-on's)."""
        return self.gate.mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self.gate.mode = mode

    @property
    def accepted_hub_key(self) -> str | None:
        """The fingerprint of the only hub key taken: the pinned one, else the add-on's option."""
        if self.hub_key is not None:
            return fingerprint(self.hub_key)
        pin = self.settings.hub_key_fingerprint
        return pin if is_fingerprint(pin) else None

    def check(self, message: Envelope, retained: bool) -> Verdict:
        """Signature, replay window, then the sender's rate; SecurityError if refused."""
        key = (
            self.hub_key
            if message.source == HUB_SOURCE
            else self.devices.get(message.source)
        )
        return self.gate.admit(
            message.topic, message.raw, key=key, sent=message.timestamp,
            now=datetime.now(UTC), retained=retained_state(message.kind, retained),
        )  # fmt: skip

    def key_of(self, source: str) -> str | None:
        """The key a sender's messages must be signed with (None: it has none)."""
        return self.hub_key if source == HUB_SOURCE else self.devices.get(source)

    def verified_key(self, source: str, verdict: Verdict) -> str | None:
        """The fingerprint of the key a verified request was signed with (None: not verified)."""
        key = self.key_of(source) if verdict.verified else None
        return fingerprint(key) if key else None

    def authentic(self, topic: str, message: dict[str, Any]) -> bool:
        """Whether a message is signed by its sender's trusted key (whatever its age or copies)."""
        source = message.get("source")
        key = self.key_of(source) if isinstance(source, str) else None
        if key is None:
            return False
        try:
            verify(topic, message, key)
        except SecurityError:
            return False
        return True

    def area_of(self, source: str) -> str | None:
        """The HA area an approved device is in, as the trust list says."""
        return self.areas.get(source) if self.listed else None

    def may_act(self, source: str, verdict: Verdict) -> bool:
        """Whether a request carries authority over the home: an approved device's, verified.

        Approved: its key is on the trust list the hub key held now signed. In mode
        off nothing is verified: approved ids are taken at their word, as HA takes them.
        """
        if not self.listed or source == HUB_SOURCE or source not in self.devices:
            return False
        return verdict.verified or self.mode is Mode.OFF

    def take(self, message: Envelope, retained: bool = True) -> None:
        """The hub's key or trust list; SecurityError (or ValueError) if it is not to be trusted.

        retained: the broker's kept copy (sent as we subscribe), not one sent live.
        """
        if message.kind is Kind.SECURITY_HUB:
            self._take_hub_key(message, retained)
        else:
            self._take_trust_list(message)

    def refused(self, kind: Kind, topic: str, err: Exception, retained: bool) -> bool:
        """Log a hub key or trust list refused; whether to ask the broker for its kept hub key.

        Anyone can send a key live, so a refused one is only a question: the broker's
        kept copy (HA's own) answers it, asked for at most once a minute.
        """
        code = getattr(err, "code", "invalid_field")
        copy = "retained" if retained else "live"
        self._refusals.log(
            logging.WARNING, f"{kind}:{code}:{copy}", "Ignored %s: %s", topic, err
        )
        # A key that signs its own offer, only not the one pinned, and sent live.
        question = kind is Kind.SECURITY_HUB and code in ("key_changed", "untrusted")
        if (
            retained
            or not question
            or time.monotonic() - self._asked < ASK_AGAIN_SECONDS
        ):
            return False
        self._asked = time.monotonic()
        return True

    def _take_hub_key(self, message: Envelope, retained: bool) -> None:
        offered = str(message.payload.get("public_key"))
        verify(message.topic, message.raw, offered)  # it holds the key it offers
        shown = fingerprint(offered)
        if self.hub_key is None:
            pin = self.settings.hub_key_fingerprint
            if pin and shown != pin:
                self._refuse(shown, retained)
                raise SecurityError("untrusted", f"hub key {shown} is not {pin}")
            self.hub_key = offered
            self._save_pin(offered)
            _LOGGER.info("Trusting Home Assistant's key %s", shown)
        elif offered != self.hub_key:
            self._refuse(shown, retained)
            raise SecurityError(
                "key_changed",
                f"Home Assistant's key changed to {shown}; set the add-on's "
                "hub_key_fingerprint option to trust it"
                if retained
                else f"{shown} offered live as Home Assistant's key, not the one pinned",
            )
        self.refused_hub_key = None

    def _refuse(self, shown: str, retained: bool) -> None:
        # Reported in the heartbeat until the key offered is the one accepted: the
        # user decides (docs/security.md); the bridge never re-pins by itself. Only
        # the copy the broker keeps for HA counts: anyone can send one live.
        if retained:
            self.refused_hub_key = shown

    def _read_pin(self) -> str | None:
        try:
            text = self._hub_key_file.read_text(errors="replace").strip()
        except FileNotFoundError:
            return None
        if valid_public_key(text):
            return text
        # A write cut short (before pins were written whole): no pin, so HA's key is
        # pinned again on sight, the add-on's hub_key_fingerprint first if set.
        aside = move_aside(self._hub_key_file)
        _LOGGER.warning(
            "The pin of Home Assistant's key, %s, held no key (%d characters); moved "
            "to %s: Home Assistant's key is pinned again when it is sent",
            self._hub_key_file, len(text), aside.name,
        )  # fmt: skip
        return None

    def _save_pin(self, key: str) -> None:
        try:
            write_private(self._hub_key_file, (key + "\n").encode())
        except OSError as err:
            # A full disk must not stop the bridge: pinned for this run, on sight again after.
            _LOGGER.error(
                "Could not save the pin of Home Assistant's key in %s (%s): pinned "
                "until the app restarts", self._hub_key_file, err,
            )  # fmt: skip

    def _take_trust_list(self, message: Envelope) -> None:
        if self.hub_key is None:
            raise SecurityError("untrusted", "trust list before the hub's key")
        verify(message.topic, message.raw, self.hub_key)
        listed = TrustList.parse(message.payload)
        if self._trust_serial is None:
            if not self._newer_by_time(message.timestamp):
                return  # an older list, replayed: keep the newer one
        elif listed.serial is None:
            # Taken, it would bring back an older mode or revoked keys for good.
            raise SecurityError(
                "stale",
                f"trust list without a serial after serial {self._trust_serial}: "
                "an older integration's, or a replay",
            )
        elif listed.serial == self._trust_serial:
            return  # the list held, sent again (the broker's retained copy)
        elif listed.serial < self._trust_serial:
            # Said, not ignored: when Home Assistant itself fell behind (restored
            # from an older backup), the user's changes wait until they read this.
            raise SecurityError(
                "stale",
                f"trust list {listed.serial} is older than the one held "
                f"({self._trust_serial}): a replay, or Home Assistant restored from "
                "an older backup",
            )
        self.mode = listed.mode or self.mode
        self.devices, self.areas = listed.devices, listed.areas
        self._trust_time = not_ahead(message.timestamp)
        self._trust_serial = listed.serial
        self.listed = True
        self._keep_trust(self._trust_time, fingerprint(self.hub_key))
        _LOGGER.info(
            "Security mode %s; %d approved device keys", self.mode, len(self.devices)
        )

    def _newer_by_time(self, sent: datetime) -> bool:
        """Whether a list is newer than the one kept by its send time (no serial kept yet)."""
        if from_the_future(sent):
            # Signed while HA's clock was ahead: taken, it would shut out the lists
            # HA signs once its clock is right (the user's changes, a stricter mode).
            ahead = (sent - datetime.now(UTC)).total_seconds()
            raise SecurityError(
                "stale", f"trust list signed {ahead:.0f} s in the future"
            )
        return self._trust_time is None or sent > self._trust_time

    def _keep_trust(self, sent: datetime, signed_by: str) -> None:
        kept = json.dumps(
            {"time": sent.isoformat(), "mode": str(self.mode),
             "devices": self.devices, "areas": self.areas,
             "signed_by": signed_by, "serial": self._trust_serial}
        )  # fmt: skip
        try:
            # Whole or not at all: a list cut short would read as none after a
            # restart, and the security floor it keeps would be lost.
            write_private(self._trust_file, kept.encode())
        except OSError as err:
            _LOGGER.error(
                "Could not keep the trust list in %s (%s): it holds for this run",
                self._trust_file, err,
            )  # fmt: skip

    def _restore_trust(self) -> None:
        try:
            stored = json.loads(self._trust_file.read_text())
            # No later than the bridge's clock when it was kept (the file's time):
            # kept unclamped before, a list HA signed while its clock was ahead
            # would shut out, after a restart too, the lists it signed since.
            written = datetime.fromtimestamp(self._trust_file.stat().st_mtime, UTC)
            trust_time = min(datetime.fromisoformat(stored["time"]), written)
            mode = Mode(stored["mode"])
            devices = {str(k): str(v) for k, v in stored["devices"].items()}
            areas = listed_areas(stored.get("areas"), devices)
            signed_by = stored.get("signed_by")
            # (Kept before lists had serials: none, ordered by time as then.)
            serial = stored.get("serial")
            serial = None if serial is None else list_serial(serial, "serial")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return
        trust_time = not_ahead(trust_time)  # the bridge's clock set back since
        self.devices = devices
        held = None if self.hub_key is None else fingerprint(self.hub_key)
        if (held is not None and signed_by in (None, held)) or (
            signed_by is not None and signed_by == self.accepted_hub_key
        ):
            # (Lists kept before "signed_by" was written were the held key's.) Or the
            # key the add-on's option names, its pin forgotten (another key named by
            # mistake, then this one again): its serial still orders its lists.
            self._trust_time, self.mode, self.listed = trust_time, mode, True
            self.areas, self._trust_serial = areas, serial
            return
        # Signed by a key no longer held: a floor until the held key's own list
        # comes. Its ids still sign, the stricter mode holds. Its serial is not
        # kept: the held key's hub counts its own.
        self._trust_time = trust_time
        self.mode = max(self.mode, mode, key=STRICTNESS.index)
        _LOGGER.warning(
            "Until Home Assistant's key sends its trust list: mode %s, %d device "
            "keys required (the last list known)", self.mode, len(devices),
        )  # fmt: skip
