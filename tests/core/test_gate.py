"""The admission order both ends share: the sender is authenticated before its rate is charged."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from typing import Any

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.errors import SecurityError
from alicia_bus.gate import Gate
from alicia_bus.limits import RateLimiter
from alicia_bus.policy import Mode, retained_state
from alicia_bus.signing import KeyPair
from alicia_bus.topics import HUB_SOURCE, kind_of

TOPIC = "alicia/devices/panel/data"


def sealed(key: KeyPair, source: str, topic: str = TOPIC) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        key.seal(topic, new_message(source, "event", {"values": {"t": 1}}))
    )
    return loaded


def outcome(gate: Gate, message: dict[str, Any], key: str | None) -> str:
    try:
        return gate.admit(
            TOPIC, message, key=key, sent=datetime.fromisoformat(message["timestamp"]),
            now=datetime.now(UTC),
        ).outcome  # fmt: skip
    except SecurityError as refusal:
        return refusal.code


@pytest.fixture
def gate() -> Gate:
    return Gate(Mode.VERIFY, RateLimiter(rate=0.001, burst=3))


def test_forgeries_in_a_devices_name_do_not_spend_its_rate(gate: Gate) -> None:
    device, forger = KeyPair.generate(), KeyPair.generate()
    forged = [sealed(forger, "panel") for _ in range(50)]
    unsigned = [new_message("panel", "event", {"values": {}}) for _ in range(50)]
    assert {outcome(gate, m, device.public_key) for m in forged} == {"bad_signature"}
    assert {outcome(gate, m, device.public_key) for m in unsigned} == {"unsigned"}
    genuine = [
        outcome(gate, sealed(device, "panel"), device.public_key) for _ in range(4)
    ]
    assert genuine == ["verified"] * 3 + ["rate_limited"]


def test_home_assistants_verified_messages_are_never_charged(gate: Gate) -> None:
    hub = KeyPair.generate()
    answers = {
        outcome(gate, sealed(hub, HUB_SOURCE), hub.public_key) for _ in range(40)
    }
    assert answers == {"verified"}
    # An unsigned claim to be Home Assistant is nobody's: refused while its key is known.
    claim = new_message(HUB_SOURCE, "event", {"values": {}})
    assert outcome(gate, claim, hub.public_key) == "unsigned"


def test_unverified_senders_are_charged_by_the_name_they_use(gate: Gate) -> None:
    outcomes = [outcome(gate, new_message("toy", "event", {}), None) for _ in range(4)]
    assert outcomes == ["accepted_unsigned"] * 3 + ["rate_limited"]
    assert outcome(gate, new_message("other", "event", {}), None) == "accepted_unsigned"


def test_with_security_off_home_assistant_is_not_limited(gate: Gate) -> None:
    gate.mode = Mode.OFF
    claims = [new_message(HUB_SOURCE, "event", {}) for _ in range(10)]
    assert {outcome(gate, m, None) for m in claims} == {"accepted_off"}


def test_a_flood_over_its_rate_does_not_fill_the_replay_window(gate: Gate) -> None:
    device = KeyPair.generate()
    outcomes = [
        outcome(gate, sealed(device, "panel"), device.public_key) for _ in range(200)
    ]
    assert outcomes.count("verified") == 3
    assert len(gate.window) == 3


def test_a_replay_is_still_refused(gate: Gate) -> None:
    device = KeyPair.generate()
    message = sealed(device, "panel")
    assert outcome(gate, message, device.public_key) == "verified"
    assert outcome(gate, message, device.public_key) == "replayed"


def test_a_genuine_message_replayed_costs_its_sender_nothing(gate: Gate) -> None:
    device = KeyPair.generate()
    message = sealed(device, "panel")
    assert outcome(gate, message, device.public_key) == "verified"
    replays = {outcome(gate, message, device.public_key) for _ in range(50)}
    assert replays == {"replayed"}
    genuine = [
        outcome(gate, sealed(device, "panel"), device.public_key) for _ in range(3)
    ]
    assert genuine == ["verified", "verified", "rate_limited"]


def test_settings_kept_retained_reach_a_device_that_connects_days_later(
    gate: Gate,
) -> None:
    """A device applying the shared gate takes HA's retained settings however old; not a live copy."""
    hub, topic = KeyPair.generate(), "alicia/devices/panel/config"
    message = new_message(HUB_SOURCE, "command", {"settings": {"interval": 60}})
    message["timestamp"] = "2026-12-01T08:00:00+00:00"
    settings: dict[str, Any] = json.loads(hub.seal(topic, message))

    def admitted(retained: bool) -> str:
        try:
            return gate.admit(
                topic, settings, key=hub.public_key,
                sent=datetime.fromisoformat(settings["timestamp"]),
                now=datetime.now(UTC),
                retained=retained_state(kind_of(topic), retained),
            ).outcome  # fmt: skip
        except SecurityError as refusal:
            return refusal.code

    assert admitted(retained=True) == "verified"
    assert admitted(retained=False) == "stale"
