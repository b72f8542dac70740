"""Signed envelopes, replay protection and rate limits (docs/security.md), for the bridge."""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
import hashlib
import json
import math
from pathlib import Path
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALGORITHM = "ed25519"
DOMAIN_TAG = b"alicia-v1\n"
WINDOW_SECONDS = 30.0
SEEN_LIMIT = 100_000


class Mode(StrEnum):
    """How strictly signatures are required."""

    OFF = "off"
    VERIFY = "verify"
    ENFORCE = "enforce"


class SecurityError(Exception):
    """A message refused for security; `code` is one of docs/security.md's codes."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code apart from the text."""
        super().__init__(message)
        self.code = code


def canonical(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value."""
    return _jcs(value).encode("utf-8")


def _jcs(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _es_number(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: str(key).encode("utf-16-be"))
        return (
            "{" + ",".join(f"{_jcs(str(key))}:{_jcs(value[key])}" for key in keys) + "}"
        )
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _es_number(number: float) -> str:
    """A float as ECMAScript's Number.prototype.toString writes it (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(number):
        raise ValueError("NaN and infinity are not JSON")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr() gives the shortest round-trip digits; only the layout differs from ES.
    _, digit_tuple, exponent = Decimal(repr(abs(number))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    point = exponent + len("".join(map(str, digit_tuple)))  # digits before the point
    length = len(digits)
    if length <= point <= 21:
        text = digits + "0" * (point - length)
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        mantissa = digits[0] + (f".{digits[1:]}" if length > 1 else "")
        power = point - 1
        text = f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"
    return sign + text


def signed_bytes(topic: str, message: dict[str, Any]) -> bytes:
    """What a signature covers: a tag, the topic, and the envelope without `security`."""
    body = {key: value for key, value in message.items() if key != "security"}
    return DOMAIN_TAG + topic.encode("utf-8") + b"\n" + canonical(body)


def fingerprint(public_key: str) -> str:
    """SHA256:<base64>, as SSH shows host keys; public_key is base64 of the 32 raw bytes."""
    digest = hashlib.sha256(base64.b64decode(public_key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class KeyPair:
    """An Ed25519 key pair; the private half never leaves this object or its file."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        """Derive the public key's forms once."""
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = base64.b64encode(raw).decode()
        self.fingerprint = fingerprint(self.public_key)

    @classmethod
    def generate(cls) -> KeyPair:
        """A new random key pair."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """The key pair of a 32-byte seed (test vectors)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def load_or_create(cls, path: Path) -> KeyPair:
        """Read the PEM key at path, or create it there (mode 0600)."""
        if path.exists():
            private = serialization.load_pem_private_key(path.read_bytes(), None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{path} does not hold an Ed25519 private key")
            return cls(private)
        pair = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = pair._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.touch(mode=0o600)
        path.write_bytes(pem)
        return pair

    def sign(self, topic: str, message: dict[str, Any]) -> dict[str, Any]:
        """The message with its `security` object filled in for that topic."""
        signature = self._private.sign(signed_bytes(topic, message))
        message["security"] = {
            "alg": ALGORITHM,
            "key": self.fingerprint,
            "sig": base64.b64encode(signature).decode(),
        }
        return message

    def seal(self, topic: str, message: dict[str, Any]) -> bytes:
        """Signed and encoded, ready to publish on topic."""
        return json.dumps(self.sign(topic, message)).encode()


def is_signed(message: dict[str, Any]) -> bool:
    """Whether the message carries a signature at all."""
    security = message.get("security")
    return isinstance(security, dict) and "sig" in security


@lru_cache(maxsize=4096)
def _load_public(public_key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))


def verify(topic: str, message: dict[str, Any], public_key: str) -> None:
    """Raise SecurityError('bad_signature') unless public_key signed this message on topic."""
    security = message.get("security")
    if not isinstance(security, dict) or security.get("alg") != ALGORITHM:
        raise SecurityError("bad_signature", "security.alg must be ed25519")
    try:
        signature = base64.b64decode(str(security.get("sig")), validate=True)
        _load_public(public_key).verify(signature, signed_bytes(topic, message))
    except (InvalidSignature, ValueError, binascii.Error, TypeError) as err:
        raise SecurityError(
            "bad_signature", "the signature does not match the sender's key"
        ) from err


@dataclass(slots=True)
class ReplayGuard:
    """Refuses signed messages outside the time window and message ids seen inside it."""

    window: float = WINDOW_SECONDS
    _seen: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict)

    def check(
        self, source: str, message_id: str, sent: datetime, now: datetime
    ) -> None:
        """Raise SecurityError('stale' or 'replayed'), or remember the id."""
        skew = (now - sent).total_seconds()
        if abs(skew) > self.window:
            raise SecurityError(
                "stale",
                f"timestamp is {skew:+.0f} s from now (the window is ±{self.window:g} s)",
            )
        clock = time.monotonic()
        while self._seen and (
            next(iter(self._seen.values())) < clock or len(self._seen) > SEEN_LIMIT
        ):
            self._seen.popitem(last=False)
        key = (source, message_id)
        if key in self._seen:
            raise SecurityError(
                "replayed", f"message {message_id} was already received"
            )
        # Kept for two windows: a copy sent later is stale by then.
        self._seen[key] = clock + 2 * self.window


@dataclass(slots=True)
class RateLimiter:
    """A token bucket per source: `rate` messages a second, bursts of `burst`."""

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _next_prune: float = 0.0

    def allow(self, source: str) -> bool:
        """Take a token for source; False when its bucket is empty."""
        now = time.monotonic()
        tokens, last = self._buckets.get(source, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[source] = (tokens, now)
            return False
        self._buckets[source] = (tokens - 1, now)
        if len(self._buckets) > 10_000 and now >= self._next_prune:
            self._next_prune = now + self.burst / self.rate  # not on every message
            # Forged sources must not grow the table: forget buckets idle long enough
            # to have refilled (they behave like new ones).
            refilled = now - self.burst / self.rate
            self._buckets = {
                key: value
                for key, value in self._buckets.items()
                if value[1] > refilled
            }
        return True


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a message passed: verified by its sender's key, or accepted unverified."""

    verified: bool
    reason: str = ""


def check(
    topic: str,
    message: dict[str, Any],
    *,
    mode: Mode,
    key: str | None,
    guard: ReplayGuard,
    sent: datetime,
    now: datetime,
    retained: bool = False,
) -> Verdict:
    """Apply the mode to one parsed message whose sender's trusted key is `key`."""
    if mode is Mode.OFF:
        return Verdict(False, "off")
    if not is_signed(message):
        if mode is Mode.ENFORCE:
            raise SecurityError("unsigned", "unsigned messages are refused (enforce)")
        return Verdict(False, "unsigned")
    if key is None:
        if mode is Mode.ENFORCE:
            raise SecurityError(
                "untrusted", f"no trusted key for {message.get('source')}"
            )
        return Verdict(False, "untrusted")
    verify(topic, message, key)
    if not retained:
        # Retained messages are state, delivered late on purpose; their signature still counts.
        guard.check(
            str(message.get("source")), str(message.get("message_id")), sent, now
        )
    return Verdict(True)
