"""The bridge's own protocol code against the shared vectors."""

from __future__ import annotations

import pytest

from tests.vectors import Vector, all_vectors
from wyoming_services.protocol import (
    ProtocolError,
    decode_audio,
    encode_audio,
    envelope,
    parse,
)

VECTORS = all_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector(vector: Vector) -> None:
    if vector.expect == "valid":
        parsed = parse(vector.topic, vector.raw)
        assert parsed.topic == vector.topic
        if "audio" in parsed.payload:
            assert decode_audio(parsed.payload["audio"]).seconds > 0
        return
    with pytest.raises(ProtocolError) as error:
        parsed = parse(vector.topic, vector.raw)
        # Audio is checked when a request is served: a parse alone cannot tell.
        decode_audio(parsed.payload["audio"])
    assert error.value.code == vector.expect, str(error.value)
    assert str(error.value)


def test_vectors_cover_every_error_code() -> None:
    codes = {v.expect for v in VECTORS}
    assert codes >= {
        "valid", "malformed_json", "not_an_object", "unsupported_protocol",
        "missing_field", "invalid_field", "too_large", "bad_audio",
    }  # fmt: skip


def test_what_we_write_is_what_we_read() -> None:
    message = envelope("alicia-voice", "request", {"audio": encode_audio(bytes(3200), 16000)},
                       reply_to="alicia/voice/stt/response/x")  # fmt: skip
    import json

    parsed = parse("alicia/voice/stt/request", json.dumps(message).encode())
    assert decode_audio(parsed.payload["audio"]).seconds == pytest.approx(0.1)
