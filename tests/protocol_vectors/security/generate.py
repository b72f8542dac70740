"""Writes the signed and tampered vectors of this folder (run: python -m tests.protocol_vectors.security.generate).

The keys come from fixed, published seeds: they are test keys, worthless as secrets.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from alicia_bus.signing import KeyPair, signed_bytes

HERE = Path(__file__).resolve().parent
DEVICE = KeyPair.from_seed(bytes(range(32)))
OTHER = KeyPair.from_seed(bytes(range(1, 33)))
NOW = "2026-11-22T10:15:40.000Z"
TOPIC = "alicia/devices/kitchen_sensor_01/data"


def message(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "protocol": 1,
        "message_id": "7d0e4a52-7b43-4d0e-8a3f-1f9b8d2c6e01",
        "timestamp": "2026-11-22T10:15:30.123Z",
        "source": "kitchen_sensor_01",
        "destination": "broadcast",
        "message_type": "event",
        "correlation_id": None,
        "reply_to": None,
        "payload": {
            "values": {"temperature": 21.5, "humidity": 40, "label": "Küche ☕"}
        },
    }
    base.update(changes)
    return base


def write(
    name: str, description: str, msg: dict[str, Any], expect: str, **spec: Any
) -> None:
    vector = {
        "description": description,
        "topic": spec.pop("topic", TOPIC),
        "mode": spec.pop("mode", "verify"),
        "trusted_key": spec.pop("trusted_key", DEVICE.public_key),
        "now": spec.pop("now", NOW),
        "retained": spec.pop("retained", False),
        "repeat": spec.pop("repeat", False),
        "message": msg,
        "expect": expect,
        **spec,
    }
    (HERE / f"{name}.json").write_text(
        json.dumps(vector, indent=2, ensure_ascii=False) + "\n"
    )


def main() -> None:
    signed = DEVICE.sign(TOPIC, message())
    write(
        "signed_valid",
        "A data message signed by the device's approved key.",
        signed,
        "verified",
        to_sign=signed_bytes(TOPIC, signed).decode(),
        fingerprint=DEVICE.fingerprint,
    )
    write(
        "security_off",
        "Security off: nothing is checked.",
        signed,
        "accepted_off",
        mode="off",
    )
    tampered = copy.deepcopy(signed)
    tampered["payload"]["values"]["temperature"] = 35.0
    write(
        "tampered_payload",
        "The payload was changed after signing.",
        tampered,
        "bad_signature",
    )
    moved = copy.deepcopy(signed)
    write(
        "other_topic",
        "A signed message replayed on another topic.",
        moved,
        "bad_signature",
        topic="alicia/devices/kitchen_sensor_01/status",
    )
    write(
        "wrong_key",
        "Signed by a key that is not the device's approved key.",
        OTHER.sign(TOPIC, message()),
        "bad_signature",
    )
    forged = copy.deepcopy(signed)
    forged["security"]["sig"] = "A" * 86 + "=="
    write(
        "forged_signature", "A well-formed signature of zeros.", forged, "bad_signature"
    )
    garbage = copy.deepcopy(signed)
    garbage["security"]["sig"] = "not base64!"
    write(
        "signature_not_base64", "The signature is not base64.", garbage, "bad_signature"
    )
    other_alg = copy.deepcopy(signed)
    other_alg["security"]["alg"] = "hmac-sha256"
    write(
        "unknown_algorithm",
        "An algorithm other than ed25519.",
        other_alg,
        "bad_signature",
    )
    unsigned = message(security={})
    write(
        "unsigned_verify",
        "Unsigned, in verify mode, from a sender with no approved key: let through, flagged.",
        unsigned,
        "accepted_unsigned",
        trusted_key=None,
    )
    write(
        "unsigned_verify_pinned",
        "Unsigned, in verify mode, from a sender whose key is approved: refused "
        "(an approved id must sign, or anyone could speak for it).",
        unsigned,
        "unsigned",
    )
    write(
        "unsigned_enforce",
        "Unsigned, in enforce mode: refused.",
        unsigned,
        "unsigned",
        mode="enforce",
    )
    write(
        "untrusted_verify",
        "Signed by a sender without an approved key, verify mode.",
        signed,
        "accepted_untrusted",
        trusted_key=None,
    )
    write(
        "untrusted_enforce",
        "Signed by a sender without an approved key, enforce mode.",
        signed,
        "untrusted",
        trusted_key=None,
        mode="enforce",
    )
    write(
        "replayed",
        "The same signed message twice: the second is refused.",
        signed,
        "replayed",
        repeat=True,
    )
    write(
        "stale_past",
        "Signed 31 s before the receiver's clock.",
        signed,
        "stale",
        now="2026-11-22T10:16:01.124Z",
    )
    write(
        "stale_future",
        "Signed 31 s after the receiver's clock.",
        signed,
        "stale",
        now="2026-11-22T10:14:59.122Z",
    )
    write(
        "skew_within_window",
        "Signed 29 s after the receiver's clock: accepted.",
        signed,
        "verified",
        now="2026-11-22T10:15:01.123Z",
    )
    status_topic = "alicia/devices/kitchen_sensor_01/status"
    retained = DEVICE.sign(status_topic, message(payload={"state": "online"}))
    write(
        "retained_old",
        "A retained state message hours old: its signature counts, its age does not.",
        retained,
        "verified",
        topic=status_topic,
        retained=True,
        now="2026-11-22T18:00:00.000Z",
    )
    command_topic = "alicia/integration/ha/command"
    command = DEVICE.sign(
        command_topic,
        message(
            message_type="request",
            payload={"action": "light.turn_on", "target": {"entity_id": "light.hall"}},
        ),
    )
    write(
        "retained_command_old",
        "A signed command re-published retained, hours later: a command is not "
        "state, so the time window still applies (it cannot run at every reconnect).",
        command,
        "stale",
        topic=command_topic,
        retained=True,
        now="2026-11-22T18:00:00.000Z",
    )
    # Canonical form (RFC 8785) of tricky values: both sides must produce these bytes.
    canonical_cases = [
        {"b": 1, "a": [True, False, None], "é": "x", "\u20ac": "y", "$": 0},
        {
            "numbers": [
                1.0,
                -0.0,
                0.5,
                1e21,
                1e-7,
                123456789012345680000.0,
                3.14,
                -2.5e-9,
                100,
            ]
        },
        {"text": 'tab\tquote"backslash\\newline\ncontrol\u001f emoji 😀 ü'},
    ]
    from alicia_bus.canonical import canonical

    for index, value in enumerate(canonical_cases):
        (HERE / f"canonical_{index}.json").write_text(
            json.dumps(
                {
                    "description": "RFC 8785 canonical bytes.",
                    "value": value,
                    "canonical": canonical(value).decode(),
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
