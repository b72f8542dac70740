"""The bridge's key and its pin of HA's key on disk: a write cut short (disk full, power lost) never breaks the bridge for good."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path
import resource
import signal
import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
import pytest

from alicia_bus.envelope import Envelope, new_message, parse
from alicia_bus.signing import KeyPair, fingerprint
from wyoming_services import keys
from wyoming_services.bridge.trust import Trust
from wyoming_services.keys import load_or_create_key
from wyoming_services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HUB_TOPIC = "alicia/system/security/hub"
HUB = KeyPair.from_seed(bytes(range(32)))
PEM = KeyPair.from_seed(bytes(range(1, 33))).pem


def hub_offer(key: KeyPair) -> Envelope:
    """HA's key, self-signed, as the integration publishes it."""
    message = new_message("home-assistant", "event", {"public_key": key.public_key})
    return parse(HUB_TOPIC, json.dumps(key.sign(HUB_TOPIC, message)).encode())


def run_on_a_full_disk(script: str, limit: int, *args: str) -> str:
    """script run where files cannot grow past limit bytes (a write fails midway); its stdout."""

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True,
        text=True, preexec_fn=small_files, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert "File too large" in done.stderr, done.stderr
    return done.stdout


def errors_naming(
    caplog: pytest.LogCaptureFixture, path: Path, level: int
) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and str(path) in r.getMessage()
    ]


@pytest.mark.parametrize(
    "content",
    [b"", PEM[:60], b"\x00\xffnot a key at all\n"],
    ids=["empty", "truncated", "garbage"],
)
def test_a_key_file_holding_no_key_is_moved_aside_and_a_new_key_made(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    """Every start failed on it ("Unable to load PEM file"); now one ERROR, and the bridge runs."""
    path = tmp_path / "alicia_bridge.pem"
    path.write_bytes(content)
    with caplog.at_level(logging.ERROR):
        pair = load_or_create_key(path)
    assert KeyPair.from_pem(path.read_bytes()).public_key == pair.public_key
    assert path.stat().st_mode & 0o777 == 0o600
    (aside,) = tmp_path.glob("alicia_bridge.pem.broken-*")
    assert aside.read_bytes() == content  # kept for a look, not deleted
    (error,) = errors_naming(caplog, path, logging.ERROR)
    assert "Approve it in Home Assistant" in error
    assert pair.fingerprint in error
    # Started again: that key, nothing more moved.
    assert load_or_create_key(path).public_key == pair.public_key
    assert len(list(tmp_path.iterdir())) == 2


def test_a_valid_key_or_another_kind_of_key_is_never_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Guard: only a file holding no key is replaced; a key (even one not ours to use) is the user's."""
    path = tmp_path / "alicia_bridge.pem"
    path.write_bytes(PEM)
    assert load_or_create_key(path).pem == PEM
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(other)
    with pytest.raises(ValueError, match="Ed25519"):
        load_or_create_key(path)
    assert path.read_bytes() == other
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert not errors_naming(caplog, path, logging.ERROR)


def test_a_key_write_that_fails_midway_leaves_no_file_behind(tmp_path: Path) -> None:
    """A full disk at first start: no empty or cut key stays to fail every later start."""
    path = tmp_path / "alicia_bridge.pem"
    run_on_a_full_disk(
        "import sys; from pathlib import Path; from wyoming_services.keys import "
        "load_or_create_key; load_or_create_key(Path(sys.argv[1]))",
        50, str(path),
    )  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    pair = load_or_create_key(path)  # space is back
    assert KeyPair.from_pem(path.read_bytes()).public_key == pair.public_key
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_pin_write_that_fails_midway_leaves_no_pin_behind(tmp_path: Path) -> None:
    """HA's key pinned on a full disk: no cut pin stays to refuse every key HA offers."""
    key = tmp_path / "alicia_bridge.pem"
    offer = json.dumps(hub_offer(HUB).raw)
    pinned = run_on_a_full_disk(
        "import sys; from pathlib import Path; from alicia_bus.envelope import parse; "
        "from wyoming_services.bridge.trust import Trust; "
        "from wyoming_services.settings import Settings; "
        "trust = Trust(Settings(), Path(sys.argv[1])); "
        "trust.take(parse(sys.argv[2], sys.argv[3].encode())); print(trust.hub_key)",
        20, str(key), HUB_TOPIC, offer,
    )  # fmt: skip
    assert pinned.strip() == HUB.public_key  # for this run: the bridge goes on
    assert list(tmp_path.iterdir()) == []
    trust = Trust(Settings(), key)
    assert trust.hub_key is None
    trust.take(hub_offer(HUB))
    assert Trust(Settings(), key).hub_key == HUB.public_key
    assert key.with_suffix(".hub").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("content", "pin"),
    [("", ""), ("", "hub"), (HUB.public_key[:17], ""), (HUB.public_key[:17], "hub")],
    ids=["empty", "empty-with-option", "truncated", "truncated-with-option"],
)
def test_a_pin_holding_no_key_is_no_pin(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, pin: str
) -> None:
    """Not "" (every key HA offers refused as key_changed), nor Trust() raising: HA's key is pinned again."""
    key = tmp_path / "alicia_bridge.pem"
    hub_file = key.with_suffix(".hub")
    hub_file.write_text(content)
    settings = Settings(hub_key_fingerprint=fingerprint(HUB.public_key) if pin else "")
    with caplog.at_level(logging.WARNING):
        trust = Trust(settings, key)
    assert trust.hub_key is None
    assert len(errors_naming(caplog, hub_file, logging.WARNING)) == 1
    (aside,) = tmp_path.glob("alicia_bridge.hub.broken-*")
    assert aside.read_text() == content
    trust.take(hub_offer(HUB))
    assert trust.hub_key == HUB.public_key
    caplog.clear()
    assert Trust(settings, key).hub_key == HUB.public_key
    assert not errors_naming(caplog, hub_file, logging.WARNING)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_write_that_fails_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """Disk full while replacing a file: the previous one intact, nothing else left beside it."""
    path = tmp_path / "alicia_bridge.hub"
    path.write_text("previous\n")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, full)
    with pytest.raises(OSError, match="No space"):
        keys.write_private(path, b"new\n")
    monkeypatch.undo()
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def trust_list(key: KeyPair, devices: dict[str, str]) -> Envelope:
    """HA's signed trust list, as the integration publishes it."""
    topic = "alicia/system/security/trust"
    payload = {"mode": "enforce", "devices": devices, "areas": {}}
    message = new_message("home-assistant", "event", payload)
    return parse(topic, json.dumps(key.sign(topic, message)).encode())


def test_a_trust_list_write_that_fails_keeps_the_last_one_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Disk full as a new list comes: it holds for this run, and the last one kept survives a restart."""
    key = tmp_path / "alicia_bridge.pem"
    trust = Trust(Settings(), key)
    trust.take(hub_offer(HUB))
    device = KeyPair.from_seed(bytes(range(2, 34))).public_key
    trust.take(trust_list(HUB, {"porch": device}))

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with caplog.at_level(logging.ERROR):
        trust.take(trust_list(HUB, {"porch": device, "hall": device}))
    monkeypatch.undo()
    assert set(trust.devices) == {"porch", "hall"}
    assert len(errors_naming(caplog, key.with_suffix(".trust"), logging.ERROR)) == 1
    assert set(Trust(Settings(), key).devices) == {"porch"}
