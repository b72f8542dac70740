"""The bridge's own key on disk (the add-on's /data), created once, readable by its owner only; what it proves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alicia_bus.agent_proof import NO_BRIDGE, proof
from alicia_bus.signing import KeyPair


def load_or_create_key(path: Path) -> KeyPair:
    """The PEM key at path, or a new one written there with mode 0600."""
    if path.exists():
        return KeyPair.from_pem(path.read_bytes())
    pair = KeyPair.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 before a byte is written: the key is never readable by others.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pair.pem)
    return pair


class AgentProofs:
    """Proofs that this server holds the voice server's key (alicia_bus.agent_proof), once the bridge has it."""

    def __init__(self) -> None:
        """No key yet: nothing can be proven (without a bridge, never)."""
        self._key: KeyPair | None = None
        self._source = ""

    def use(self, key: KeyPair, source: str) -> None:
        """The bridge's key and id, which HA approved for the voice server."""
        self._key, self._source = key, source

    def prove(self, nonce: str) -> dict[str, Any]:
        """The proof's data: the nonce signed, or why not (no bridge, so no key)."""
        if self._key is None:
            return {"refused": NO_BRIDGE}
        return proof(self._key, self._source, nonce)
