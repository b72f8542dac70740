"""The bridge's own protocol code against the shared vectors."""

from __future__ import annotations

import json

import pytest

from tests.vectors import Vector, all_vectors
from wyoming_services.protocol import (
    Envelope,
    ProtocolError,
    decode_audio,
    encode_audio,
    envelope,
    parse,
)

VECTORS = all_vectors()


def read(vector: Vector) -> Envelope:
    """What the bridge does with a message: parse it, and decode audio when it serves it."""
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
    message = envelope(
        "alicia-voice",
        "request",
        {"audio": encode_audio(bytes(3200), 16000)},
        reply_to="alicia/voice/stt/response/x",
    )
    parsed = parse("alicia/voice/stt/request", json.dumps(message).encode())
    assert decode_audio(parsed.payload["audio"]).seconds == pytest.approx(0.1)
