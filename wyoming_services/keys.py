"""The bridge's own key on disk (the add-on's /data), created once, readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path

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
