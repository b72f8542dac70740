"""Signatures, replay protection and rate limits of the alicia bus (docs/security.md)."""

from __future__ import annotations

import base64
import binascii
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
import hashlib
import json
import math
import time
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

MODE_OFF: Final = "off"
MODE_VERIFY: Final = "verify"
MODE_ENFORCE: Final = "enforce"
MODES: Final = (MODE_OFF, MODE_VERIFY, MODE_ENFORCE)
TAG: Final = b"alicia-v1\n"
WINDOW: Final = 30.0
# Per source: a sensor reporting every second uses 1/10 of this.
RATE: Final = 10.0
BURST: Final = 50.0


class Refusal(Exception):
    """A message refused for security; `code` is a docs/security.md code."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code apart from the text."""
        super().__init__(message)
        self.code = code


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of value, as UTF-8."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode()


def _write(value: Any, out: list[str]) -> None:
    match value:
        case bool() | None:
            out.append(json.dumps(value))
        case str():
            out.append(json.dumps(value, ensure_ascii=False))
        case int():
            out.append(str(value))
        case float():
            out.append(_number(value))
        case list() | tuple():
            out.append("[")
            for index, item in enumerate(value):
                if index:
                    out.append(",")
                _write(item, out)
            out.append("]")
        case dict():
            out.append("{")
            # RFC 8785 orders keys by their UTF-16 code units.
            for index, key in enumerate(
                sorted(value, key=lambda k: k.encode("utf-16-be"))
            ):
                if index:
                    out.append(",")
                out.append(json.dumps(key, ensure_ascii=False) + ":")
                _write(value[key], out)
            out.append("}")
        case _:
            raise TypeError(f"{type(value).__name__} is not JSON")


def _number(value: float) -> str:
    """ECMAScript's Number#toString of a double (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    if value == 0:
        return "0"
    # repr() has the shortest round-trip digits; ES only lays them out differently.
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    shift = int(exp_text or 0)
    if whole.strip("0"):
        point = len(whole.lstrip("0")) + shift
    else:
        point = -(len(fraction) - len(fraction.lstrip("0"))) + shift
    digits = (whole + fraction).strip("0")
    n = len(digits)
    if n <= point <= 21:
        text = digits + "0" * (point - n)
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        head = digits[0] + ("." + digits[1:] if n > 1 else "")
        text = f"{head}e{'+' if point > 0 else '-'}{abs(point - 1)}"
    return ("-" if value < 0 else "") + text


def to_sign(topic: str, message: dict[str, Any]) -> bytes:
    """Tag, topic, newline, then the canonical envelope without `security`."""
    return (
        TAG
        + topic.encode()
        + b"\n"
        + canonical({k: v for k, v in message.items() if k != "security"})
    )


def fingerprint(public_key: str) -> str:
    """The key's SHA-256, base64 without padding, after `SHA256:` (as SSH writes it)."""
    raw = base64.b64decode(public_key, validate=True)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip(
        "="
    )


def valid_public_key(public_key: Any) -> bool:
    """Base64 of 32 bytes that make an Ed25519 key."""
    try:
        Ed25519PublicKey.from_public_bytes(
            base64.b64decode(str(public_key), validate=True)
        )
    except (ValueError, binascii.Error):
        return False
    return isinstance(public_key, str)


class HubKey:
    """The hub's Ed25519 key; stored as PEM in HA's .storage, never logged."""

    def __init__(self, pem: bytes | None = None) -> None:
        """Load the stored key, or make a new one."""
        if pem is None:
            self._key = Ed25519PrivateKey.generate()
        else:
            loaded = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(loaded, Ed25519PrivateKey)
            self._key = loaded
        self.public_key = base64.b64encode(
            self._key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        ).decode()
        self.fingerprint = fingerprint(self.public_key)

    @property
    def pem(self) -> str:
        """The private key, for the store only."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def sign(self, topic: str, message: dict[str, Any]) -> dict[str, Any]:
        """Fill in the message's `security` object for that topic."""
        message["security"] = {
            "alg": "ed25519",
            "key": self.fingerprint,
            "sig": base64.b64encode(self._key.sign(to_sign(topic, message))).decode(),
        }
        return message


@lru_cache(maxsize=4096)
def _public(public_key: str) -> Ed25519PublicKey:
    """Loaded once per key: decoding a key costs as much as a third of a verification."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))


def verify_signature(topic: str, message: dict[str, Any], public_key: str) -> None:
    """Raise Refusal('bad_signature') unless the message was signed with public_key."""
    security = message.get("security") or {}
    try:
        if security.get("alg") != "ed25519":
            raise ValueError("unknown algorithm")
        _public(public_key).verify(
            base64.b64decode(security["sig"], validate=True), to_sign(topic, message)
        )
    except (InvalidSignature, ValueError, KeyError, TypeError, binascii.Error) as err:
        raise Refusal("bad_signature", "signature does not verify") from err


@dataclass(slots=True)
class Freshness:
    """The replay window: timestamps within ±WINDOW s, each message id once."""

    window: float = WINDOW
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def check(
        self, source: str, message_id: str, sent: datetime, now: datetime
    ) -> None:
        """Raise Refusal('stale' or 'replayed'); remember the id otherwise."""
        offset = (sent - now).total_seconds()
        if not -self.window <= offset <= self.window:
            raise Refusal(
                "stale", f"timestamp {offset:+.1f} s off (window ±{self.window:g} s)"
            )
        clock = time.monotonic()
        while self.seen and next(iter(self.seen.values())) < clock:
            self.seen.popitem(last=False)
        key = f"{source}\x00{message_id}"
        if key in self.seen:
            raise Refusal("replayed", f"{message_id} seen before")
        self.seen[key] = clock + 2 * self.window


@dataclass(slots=True)
class Buckets:
    """Token buckets by source; a source over its rate is dropped, not answered."""

    rate: float = RATE
    burst: float = BURST
    state: dict[str, list[float]] = field(default_factory=dict)
    next_prune: float = 0.0

    def take(self, source: str) -> bool:
        """Whether source may send one more message now."""
        now = time.monotonic()
        bucket = self.state.setdefault(source, [self.burst, now])
        bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if bucket[0] < 1:
            return False
        bucket[0] -= 1
        if len(self.state) > 10_000 and now >= self.next_prune:
            # Forged sources must not grow the table: a bucket idle long enough to be
            # full again is the same as none. Pruned once per refill time, not per message.
            self.next_prune = now + self.burst / self.rate
            idle = now - self.burst / self.rate
            self.state = {k: v for k, v in self.state.items() if v[1] > idle}
        return True


@dataclass(slots=True)
class Audit:
    """What security refused or flagged, for the sensor and diagnostics."""

    counts: Counter[str] = field(default_factory=Counter)
    unsigned_sources: set[str] = field(default_factory=set)
    last: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> int:
        """Messages refused for security (flags and approvals are not refusals)."""
        return sum(
            n for code, n in self.counts.items()
            if code not in ("unsigned_accepted", "untrusted_accepted", "approvals", "verified")
        )  # fmt: skip

    def record(self, code: str, source: str, topic: str) -> None:
        """Count one event; remember the newest (no payloads: they may hold secrets)."""
        self.counts[code] += 1
        self.last = {"code": code, "source": source, "topic": topic, "at": time.time()}


def inspect(
    topic: str,
    message: dict[str, Any],
    *,
    mode: str,
    key: str | None,
    freshness: Freshness,
    sent: datetime,
    now: datetime,
    retained: bool = False,
) -> str:
    """Apply the mode: 'verified', or how the message was let through; Refusal if not."""
    if mode == MODE_OFF:
        return "off"
    security = message.get("security")
    if not isinstance(security, dict) or "sig" not in security:
        if mode == MODE_ENFORCE:
            raise Refusal("unsigned", "unsigned message (security mode: enforce)")
        return "unsigned"
    if key is None:
        if mode == MODE_ENFORCE:
            raise Refusal("untrusted", "signed, but the sender has no approved key")
        return "untrusted"
    verify_signature(topic, message, key)
    # A retained message is state, delivered late by design: no window, same signature.
    if not retained:
        freshness.check(str(message["source"]), str(message["message_id"]), sent, now)
    return "verified"
