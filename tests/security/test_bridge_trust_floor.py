"""A pinned hub key not (yet) seen, and a rogue one offered: the bridge stays as strict as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path

import pytest

from alicia_bus.envelope import Envelope, new_message, parse, timestamp
from alicia_bus.errors import SecurityError
from alicia_bus.policy import Mode
from alicia_bus.signing import KeyPair, fingerprint
from wyoming_services.bridge.trust import Trust
from wyoming_services.settings import Settings

from .bridge_unit import AI, DEVICE

OLD_HUB = KeyPair.from_seed(bytes(range(32)))  # HA's key before it was reinstalled
NEW_HUB = KeyPair.from_seed(bytes(range(2, 34)))
ROGUE = KeyPair.from_seed(bytes(32))


def signed(
    topic: str, key: KeyPair, payload: dict[str, object], age: float = 0
) -> Envelope:
    message = new_message("home-assistant", "event", payload)
    message["timestamp"] = timestamp(datetime.now(UTC) - timedelta(seconds=age))
    return parse(topic, json.dumps(key.sign(topic, message)).encode())


def hub_key(key: KeyPair) -> Envelope:
    return signed("alicia/system/security/hub", key, {"public_key": key.public_key})


def trust_list(key: KeyPair, mode: str, age: float = 0) -> Envelope:
    devices = {"kitchen_satellite": DEVICE.public_key}
    return signed(
        "alicia/system/security/trust", key, {"mode": mode, "devices": devices}, age
    )


def unsigned_request() -> Envelope:
    message = new_message("kitchen_satellite", "request", {"text": "Unlock the door"})
    return parse(AI, json.dumps(message).encode())


def signed_request() -> Envelope:
    message = new_message("kitchen_satellite", "request", {"text": "Hi"})
    return parse(AI, json.dumps(DEVICE.sign(AI, message)).encode())


def bridge(tmp_path: Path, pin: str = "") -> Trust:
    return Trust(Settings(hub_key_fingerprint=pin), tmp_path / "bridge.pem")


def test_a_rogue_key_after_a_new_pin_leaves_the_last_list_in_force(
    tmp_path: Path,
) -> None:
    first = bridge(tmp_path)
    first.take(hub_key(OLD_HUB))
    first.take(trust_list(OLD_HUB, "enforce", age=60))
    # HA was reinstalled with a new key; the user pins it. A rogue key is retained.
    pinned = bridge(tmp_path, fingerprint(NEW_HUB.public_key))
    with pytest.raises(SecurityError):
        pinned.take(hub_key(ROGUE))
    assert pinned.hub_key is None
    assert pinned.mode is Mode.ENFORCE  # not the add-on's verify
    with pytest.raises(SecurityError) as refused:
        pinned.check(unsigned_request(), retained=False)
    assert refused.value.code == "unsigned"
    # Signed by the device, it passes, but the old list gives it no authority.
    verdict = pinned.check(signed_request(), retained=False)
    assert verdict.verified
    assert not pinned.may_act("kitchen_satellite", verdict)


def test_the_pinned_keys_own_list_then_decides(tmp_path: Path) -> None:
    first = bridge(tmp_path)
    first.take(hub_key(OLD_HUB))
    first.take(trust_list(OLD_HUB, "enforce", age=60))
    pinned = bridge(tmp_path, fingerprint(NEW_HUB.public_key))
    pinned.take(hub_key(NEW_HUB))
    # Restarted in between: the old list is still only a floor for the new key.
    again = bridge(tmp_path, fingerprint(NEW_HUB.public_key))
    assert (again.hub_key, again.mode) == (NEW_HUB.public_key, Mode.ENFORCE)
    assert not again.may_act("kitchen_satellite", again.check(signed_request(), False))
    again.take(trust_list(NEW_HUB, "verify"))
    assert again.mode is Mode.VERIFY
    assert again.may_act("kitchen_satellite", again.check(signed_request(), False))
    restarted = bridge(tmp_path, fingerprint(NEW_HUB.public_key))
    assert restarted.listed
    assert restarted.mode is Mode.VERIFY
