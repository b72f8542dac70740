"""The contract core (alicia_bus) against the shared protocol vectors."""

from __future__ import annotations

import json

import pytest

from alicia_bus.audio import decode_audio, encode_audio
from alicia_bus.envelope import Envelope, new_message, parse, reply_to_allowed
from alicia_bus.errors import ProtocolError
from alicia_bus.payloads import Registration
from alicia_bus.topics import Kind, kind_of
from tests.vectors import Vector, all_vectors

VECTORS = all_vectors()


def read(vector: Vector) -> Envelope:
    """What a receiver does with a message: parse it, and decode audio when it serves it."""
    parsed = parse(vector.topic, vector.raw)
    if "audio" in parsed.payload:
        assert decode_audio(parsed.payload["audio"]).seconds > 0
    return parsed


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector(vector: Vector) -> None:
    if vector.expect == "valid":
        assert read(vector).topic == vector.topic
        return
    with pytest.raises(ProtocolError) as error:
        read(vector)
    assert error.value.code == vector.expect, str(error.value)


def test_vectors_cover_every_error_code() -> None:
    codes = {v.expect for v in VECTORS}
    assert codes >= {
        "valid", "malformed_json", "not_an_object", "unsupported_protocol",
        "missing_field", "invalid_field", "too_large", "bad_audio",
    }  # fmt: skip


def test_what_we_write_is_what_we_read() -> None:
    message = new_message(
        "alicia-voice",
        "request",
        {"audio": encode_audio(bytes(3200), 16000)},
        reply_to="alicia/voice/stt/response/alicia-voice",
    )
    parsed = parse("alicia/voice/stt/request", json.dumps(message).encode())
    assert decode_audio(parsed.payload["audio"]).seconds == pytest.approx(0.1)


def test_registration_is_typed_with_defaults_filled() -> None:
    vector = next(v for v in VECTORS if v.name == "register_bare_topic_valid")
    registration = parse(vector.topic, vector.raw).body
    assert isinstance(registration, Registration)
    assert registration.capabilities == ({"name": "button"},)
    assert registration.heartbeat_interval == 60
    assert registration.document["metadata"] == {}


def test_timestamps_are_written_one_way() -> None:
    written = new_message("a", "event", {})["timestamp"]
    assert written.endswith("Z")
    assert len(written) == len("2026-11-27T13:40:52.123Z")


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("alicia/system/errors", Kind.ERROR),
        ("alicia/system/security/trust", Kind.SECURITY_TRUST),
        ("alicia/integration/ha/state/light.kitchen", Kind.HA_STATE),
        ("alicia/integration/analytics/event", Kind.ANALYTICS),
        ("alicia/system/discovery/register/lamp", Kind.REGISTER),
        ("alicia/devices/lamp/data", Kind.DATA),
        ("alicia/voice/ai/response/lamp", Kind.RESPONSE),
        ("alicia/devices/lamp/replies/voice", Kind.RESPONSE),
        ("alicia/devices/lamp/replies", None),
        ("alicia/devices/Lamp!/data", None),
        ("other/devices/lamp/data", None),
    ],
)
def test_one_topic_table(topic: str, kind: Kind | None) -> None:
    assert kind_of(topic) is kind


def test_a_nul_in_reply_to_is_refused() -> None:
    message = new_message(
        "lamp", "request", {"text": "Hi"}, reply_to="alicia/devices/lamp/replies/\x00"
    )
    with pytest.raises(ProtocolError) as error:
        parse("alicia/voice/ai/request", json.dumps(message).encode())
    assert error.value.code == "invalid_field"


@pytest.mark.parametrize(
    ("reply_to", "allowed"),
    [
        ("alicia/devices/lamp/replies/voice", True),
        ("alicia/voice/ai/response/lamp", True),
        ("alicia/devices/lamp/replies/x/response/lamp", True),
        ("alicia/devices/door/x/response/lamp", False),
        ("alicia/devices/door/replies/voice", False),
        ("alicia/devices/speakers/announce/response/lamp", False),
        ("alicia/devices/door/command", False),
        ("alicia/voice/ai/response/door", False),
        # The requester's own contract topics: an answer there would overwrite them.
        ("alicia/devices/lamp/config", False),
        ("alicia/devices/lamp/command", False),
        ("alicia/devices/lamp/status", False),
        ("alicia/devices/lamp/data", False),
        ("alicia/devices/lamp/satellite/run", False),
        ("alicia/devices/lamp/answers", False),
        ("alicia/devices/lamp/x/response/lamp", False),
        ("alicia/devices/lamp/replies", False),
        ("alicia/devices/lamp/replied/x", False),
        # What the broker refuses as a malformed packet (it drops the publisher).
        ("alicia/devices/lamp/replies/\u0001x", False),
        ("alicia/devices/lamp/replies/x\u001f", False),
        ("alicia/devices/lamp/replies/\u007f", False),
        ("alicia/devices/lamp/replies/\u0085", False),
        ("alicia/devices/lamp/replies/\ufffe", False),
        ("alicia/devices/lamp/replies/\U0001ffff", False),
        ("alicia/devices/lamp/replies/\ufdd0", False),
        ("alicia/devices/lamp/replies/\ud800", False),
        ("alicia/devices/lamp/replies/" + "x" * 300, False),
        ("alicia/devices/lamp/replies/zoë's", True),
    ],
)
def test_a_reply_to_under_a_devices_namespace_is_only_its_own(
    reply_to: str, allowed: bool
) -> None:
    """{prefix}/devices/<id>/replies/... only for the sender <id>, response-shaped or not."""
    assert reply_to_allowed(reply_to, "lamp") is allowed


@pytest.mark.parametrize("shared", ["speakers", "sensors"])
def test_a_shared_namespace_is_no_senders_own(shared: str) -> None:
    """A sender named like a shared namespace does not own it (every device's announcements)."""
    assert not reply_to_allowed(f"alicia/devices/{shared}/announce", shared)
    assert not reply_to_allowed(f"alicia/devices/{shared}/replies/x", shared)
