"""The add-on's hub key fingerprint option, attacked: only the key the user named is trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alicia_bus.envelope import Envelope, new_message, parse
from alicia_bus.errors import SecurityError
from alicia_bus.policy import Mode
from alicia_bus.signing import KeyPair, fingerprint
from wyoming_services.bridge.trust import Trust
from wyoming_services.settings import Settings

HUB_TOPIC = "alicia/system/security/hub"
TRUST_TOPIC = "alicia/system/security/trust"
HUB = KeyPair.from_seed(bytes(range(32)))
ATTACKER = KeyPair.from_seed(bytes(32))


def hub_offer(key: KeyPair) -> Envelope:
    message = new_message("home-assistant", "event", {"public_key": key.public_key})
    return parse(HUB_TOPIC, json.dumps(key.sign(HUB_TOPIC, message)).encode())


def trust_list(key: KeyPair, mode: str) -> Envelope:
    message = new_message("home-assistant", "event", {"mode": mode, "devices": {}})
    return parse(TRUST_TOPIC, json.dumps(key.sign(TRUST_TOPIC, message)).encode())


def trust(tmp_path: Path, pin: str = "") -> Trust:
    return Trust(Settings(hub_key_fingerprint=pin), tmp_path / "bridge.pem")


def test_a_key_offered_before_the_pinned_one_is_refused(tmp_path: Path) -> None:
    """An attacker first on the broker cannot take the place of the key the user pinned."""
    bridge = trust(tmp_path, fingerprint(HUB.public_key))
    with pytest.raises(SecurityError) as refused:
        bridge.take(hub_offer(ATTACKER))
    assert refused.value.code == "untrusted"
    assert bridge.hub_key is None
    bridge.take(hub_offer(HUB))
    assert bridge.hub_key == HUB.public_key


def test_setting_the_option_replaces_a_key_pinned_on_first_sight(
    tmp_path: Path,
) -> None:
    """The user's pin wins over an earlier first-sight pin (the attacker's, say)."""
    first = trust(tmp_path)
    first.take(hub_offer(ATTACKER))  # no pin yet: first key seen is trusted
    first.take(trust_list(ATTACKER, "off"))
    restarted = trust(tmp_path)
    assert (restarted.hub_key, restarted.mode) == (ATTACKER.public_key, Mode.OFF)
    pinned = trust(tmp_path, fingerprint(HUB.public_key))
    assert (pinned.hub_key, pinned.mode) == (None, Mode.VERIFY)
    with pytest.raises(SecurityError):
        pinned.take(hub_offer(ATTACKER))
    pinned.take(hub_offer(HUB))
    assert trust(tmp_path, fingerprint(HUB.public_key)).hub_key == HUB.public_key


def test_without_the_option_a_changed_key_is_refused(tmp_path: Path) -> None:
    """Once pinned, another key is refused until the user decides."""
    bridge = trust(tmp_path)
    bridge.take(hub_offer(HUB))
    with pytest.raises(SecurityError) as refused:
        bridge.take(hub_offer(ATTACKER))
    assert refused.value.code == "key_changed"
    assert bridge.hub_key == HUB.public_key
