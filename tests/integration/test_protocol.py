"""The integration's own protocol code against the shared vectors."""

from __future__ import annotations

import pytest

from custom_components.alicia.protocol import ProtocolError, read_message
from tests.vectors import Vector, all_vectors

VECTORS = all_vectors()
# Decoding audio is the bridge's work; the integration only checks its shape.
AUDIO_CONTENT = {
    "stt_request_bad_audio",
    "stt_request_audio_not_base64",
    "stt_request_too_long_audio",
}


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector(vector: Vector) -> None:
    if vector.expect == "valid" or vector.name in AUDIO_CONTENT:
        message = read_message(vector.topic, vector.raw)
        assert message.topic == vector.topic
        return
    with pytest.raises(ProtocolError) as error:
        read_message(vector.topic, vector.raw)
    assert error.value.code == vector.expect, str(error.value)


def test_registration_defaults_are_filled() -> None:
    vector = next(v for v in VECTORS if v.name == "register_bare_topic_valid")
    payload = read_message(vector.topic, vector.raw).payload
    assert payload["capabilities"] == [{"name": "button"}]
    assert payload["heartbeat_interval"] == 60
    assert payload["metadata"] == {}
