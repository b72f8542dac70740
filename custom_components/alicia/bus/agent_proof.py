"""The Alicia app proves on a Wyoming connection that it holds the voice server's key.

Wyoming has no authentication. A server HA was told about by hand (HA Container or
Core: no Supervisor discovery) may be anything that answers describe as the app, a
satellite say, and the agent would hand it the user's words, HA's prompt and
Assist's tools. So before its ask HA sends `alicia-agent-prove` with a fresh nonce,
and the app answers `alicia-agent-proof`: its bridge's id and the nonce, signed with
the bridge's key, the key the user approved for the voice server on the bus. The
signature covers a topic no MQTT message can have (a wildcard in it), so no bus
message can stand for a proof, nor a proof for a bus message.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
import secrets
from typing import Any, Final

from .errors import ProtocolError, SecurityError
from .signing import KeyPair, verify

PROVE: Final = "alicia-agent-prove"
PROOF: Final = "alicia-agent-proof"
PROOF_TOPIC: Final = "+/alicia-agent/proof"
NONCE: Final = re.compile(r"[0-9a-f]{32}")
MAX_SOURCE: Final = 128
# Why the app signs nothing (the proof's `refused`): HA's address is not among its
# trusted clients, or it runs without the bridge whose key it would sign with.
NOT_ALLOWED: Final = "not_allowed"
NO_BRIDGE: Final = "no_bridge"


def challenge() -> dict[str, str]:
    """The prove event's data: a nonce of 128 random bits."""
    return {"nonce": secrets.token_hex(16)}


def nonce_of(data: Mapping[str, Any]) -> str:
    """The nonce HA asks to be signed (ProtocolError if it is not one)."""
    nonce = data.get("nonce")
    if not isinstance(nonce, str) or NONCE.fullmatch(nonce) is None:
        raise ProtocolError("invalid_field", "nonce must be 32 hexadecimal digits")
    return nonce


def proof(key: KeyPair, source: str, nonce: str) -> dict[str, Any]:
    """The proof event's data: source and nonce, signed with source's key."""
    return key.sign(PROOF_TOPIC, {"source": source, "nonce": nonce})


def prover(data: Mapping[str, Any], nonce: str, keys: Mapping[str, str]) -> str | None:
    """Who signed this proof of nonce, among keys (device id: public key); None if nobody."""
    source = data.get("source")
    if (
        data.get("nonce") != nonce
        or not isinstance(source, str)
        or len(source) > MAX_SOURCE
        or (key := keys.get(source)) is None
    ):
        return None
    try:
        verify(PROOF_TOPIC, dict(data), key)
    except SecurityError:
        return None
    return source
