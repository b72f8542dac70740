"""The add-on's hub key fingerprint option, attacked: only the key the user named is trusted."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from alicia_bus.envelope import Envelope, new_message, parse
from alicia_bus.errors import SecurityError
from alicia_bus.policy import Mode
from alicia_bus.signing import KeyPair, fingerprint
from wyoming_services.bridge import Bridge
from wyoming_services.bridge.trust import Trust
from wyoming_services.settings import Settings, SettingsError

from .bridge_unit import driven

HUB_TOPIC = "alicia/system/security/hub"
TRUST_TOPIC = "alicia/system/security/trust"
VOCABULARY = "alicia/voice/stt/vocabulary"
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


def test_a_stale_pin_is_reported_and_kept_until_the_user_names_the_new_key(
    tmp_path: Path,
) -> None:
    """Another HA (a fresh dev folder's) signs now: said in the heartbeat, never re-pinned."""
    old, new = KeyPair.from_seed(bytes(range(2, 34))), HUB
    trust(tmp_path).take(hub_offer(old))
    bridge = Bridge(
        Settings(security_key_file=str(tmp_path / "bridge.pem"), bridge_id="b"),
        SimpleNamespace(  # type: ignore[arg-type]
            stt=SimpleNamespace(load_error=None), tts=SimpleNamespace(voices=["v"])
        ),
    )
    for _ in range(3):  # HA's retained key, at every reconnect
        with pytest.raises(SecurityError):
            bridge.trust.take(hub_offer(new))
    health = bridge.health()
    assert (health["hub_key"], health["status"]) == (old.fingerprint, "degraded")
    assert trust(tmp_path).hub_key == old.public_key  # kept on disk as well
    # The user sets hub_key_fingerprint: the new key is taken, and said so.
    fixed = trust(tmp_path, new.fingerprint)
    fixed.take(hub_offer(new))
    assert (fixed.accepted_hub_key, fixed.refused_hub_key) == (new.fingerprint, None)


def test_a_rogue_key_does_not_change_what_the_heartbeat_names(tmp_path: Path) -> None:
    bridge = trust(tmp_path)
    bridge.take(hub_offer(HUB))
    with pytest.raises(SecurityError):
        bridge.take(hub_offer(ATTACKER))
    assert bridge.accepted_hub_key == HUB.fingerprint
    assert bridge.refused_hub_key == ATTACKER.fingerprint
    bridge.take(hub_offer(HUB))  # HA's own key again: nothing refused any more
    assert bridge.refused_hub_key is None


def test_a_pin_that_is_no_fingerprint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="hub_key_fingerprint"):
        trust(tmp_path, "SHA256:typo")


async def test_what_ha_signs_under_a_stale_pin_is_counted_not_a_warning_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The flood of #32: HA's signed messages refused, line after line; said once now."""
    state = driven(tmp_path)  # pinned HUB; another HA signs with `new`
    new = KeyPair.generate()
    offer = new_message("home-assistant", "event", {"public_key": new.public_key})
    await state.deliver(HUB_TOPIC, new.sign(HUB_TOPIC, offer), retain=True)
    for _ in range(5):
        phrases = new_message("home-assistant", "event", {"phrases": ["the Roborock"]})
        await state.deliver(VOCABULARY, new.sign(VOCABULARY, phrases), retain=True)
    assert state.bridge.counters.by_code["bad_signature"] == 5
    assert "Refused message" not in "".join(
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    )
    assert state.bridge.trust.hub_key == HUB.public_key  # kept
