"""The bridge's own key on disk (the add-on's /data), created once, readable by its owner only; what it proves."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from pathlib import Path
import tempfile
import time
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from alicia_bus.agent_proof import NO_BRIDGE, proof
from alicia_bus.signing import KeyPair

_LOGGER = logging.getLogger(__name__)


def load_or_create_key(path: Path) -> KeyPair:
    """The PEM key at path, or a new one written there (0600); a file holding no key is moved aside first."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        return _create_key(path)
    try:
        return KeyPair.from_pem(pem)
    except ValueError:
        if not _no_key(pem):
            raise
    aside = move_aside(path)
    pair = _create_key(path)
    _LOGGER.error(
        "The bridge's key file %s held no key (%d bytes: an interrupted write?); moved "
        "to %s and a new key %s made. Approve it in Home Assistant (its key-change "
        "repair): until then Home Assistant refuses what the bridge signs",
        path, len(pem), aside.name, pair.fingerprint,
    )  # fmt: skip
    return pair


def _no_key(pem: bytes) -> bool:
    """Whether pem holds no private key of any kind (a key of another type is the user's, kept)."""
    try:
        serialization.load_pem_private_key(pem, password=None)
    except (TypeError, UnsupportedAlgorithm):
        return False  # encrypted, or a type this build cannot read: a key still
    except ValueError:
        return True
    return False


def _create_key(path: Path) -> KeyPair:
    pair = KeyPair.generate()
    try:
        write_private(path, pair.pem, replace=False)
    except FileExistsError:
        # Another start wrote one meanwhile: that key, never a second one over it.
        return KeyPair.from_pem(path.read_bytes())
    return pair


def write_private(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write data at path (0600), whole or not at all; replace=False: FileExistsError if path exists."""
    # A synced file beside it, renamed over it: a write cut short (disk full, power
    # lost) leaves the file as it was, never empty.
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 before a byte is written.
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(name, path)
        else:
            _link(name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
    _sync_directory(path.parent)


def _link(name: str, path: Path) -> None:
    try:
        os.link(name, path)  # atomic, and never over a file already there
    except OSError as err:
        if err.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.ENOSYS,
        ):
            raise
        # A filesystem without hard links: the rename, checked just before.
        if path.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(path)) from err
        os.replace(name, path)


def move_aside(path: Path) -> Path:
    """Rename a damaged file to <name>.broken-<time> beside it, kept for a look; the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.broken-{stamp}")
    count = 1
    while aside.exists():
        count += 1
        aside = path.with_name(f"{path.name}.broken-{stamp}-{count}")
    os.replace(path, aside)
    return aside


def _sync_directory(directory: Path) -> None:
    # The rename itself survives a power cut only once the directory is synced.
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems refuse to sync a directory: the rename stands
    finally:
        os.close(descriptor)


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
