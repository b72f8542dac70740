"""Ed25519 keys, signatures and fingerprints (docs/security.md)."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
import hashlib
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .canonical import canonical
from .errors import SecurityError

ALGORITHM = "ed25519"
DOMAIN_TAG = b"alicia-v1\n"


def signed_bytes(topic: str, message: dict[str, Any]) -> bytes:
    """What a signature covers: a tag, the topic, and the envelope without `security`."""
    body = {key: value for key, value in message.items() if key != "security"}
    return DOMAIN_TAG + topic.encode("utf-8") + b"\n" + canonical(body)


FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def fingerprint(public_key: str) -> str:
    """SHA256:<base64>, as SSH shows keys; public_key is base64 of the 32 raw bytes."""
    digest = hashlib.sha256(base64.b64decode(public_key, validate=True)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def is_fingerprint(value: Any) -> bool:
    """Whether value is written as fingerprint() writes one: SHA256: and 43 base64 characters."""
    return isinstance(value, str) and FINGERPRINT.fullmatch(value) is not None


def valid_public_key(public_key: Any) -> bool:
    """Base64 of 32 bytes that make an Ed25519 public key."""
    if not isinstance(public_key, str):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
    except (ValueError, binascii.Error):
        return False
    return True


class KeyPair:
    """An Ed25519 key pair; the private half leaves it only as PEM, for its owner's store."""

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
    def from_pem(cls, pem: bytes) -> KeyPair:
        """A key pair stored as PKCS#8 PEM; ValueError if it is not Ed25519."""
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(private)

    @property
    def pem(self) -> bytes:
        """The private key as PKCS#8 PEM, for its owner's storage only."""
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

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
        """Signed and encoded, ready to publish on topic.

        Round-tripped through JSON first: what is signed is exactly what receivers parse.
        """
        plain: dict[str, Any] = json.loads(json.dumps(message, default=str))
        return json.dumps(self.sign(topic, plain)).encode()


def is_signed(message: dict[str, Any]) -> bool:
    """Whether the message carries a signature at all."""
    security = message.get("security")
    return isinstance(security, dict) and "sig" in security


@lru_cache(maxsize=4096)
def _load_public(public_key: str) -> Ed25519PublicKey:
    """Loaded once per key: decoding a key costs a third of a verification."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))


def verify(topic: str, message: dict[str, Any], public_key: str) -> None:
    """SecurityError('bad_signature') unless public_key signed this message on this topic."""
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
