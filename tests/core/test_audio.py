"""The payload's audio: what decodes, and what is refused before any work, with the reason."""

from __future__ import annotations

import base64
import io
from typing import Any
import wave

import pytest

from alicia_bus.audio import decode_audio, encode_audio
from alicia_bus.errors import ProtocolError


def wav(rate: int, frames: int, width: int = 2, channels: int = 1) -> dict[str, str]:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setframerate(rate)
        out.setsampwidth(width)
        out.setnchannels(channels)
        out.writeframes(bytes(frames * width * channels))
    return {"format": "wav", "data": base64.b64encode(buffer.getvalue()).decode()}


def test_what_is_encoded_decodes_the_same() -> None:
    audio = decode_audio(encode_audio(b"\x01\x00" * 800, 8000, 2, 2))
    assert (audio.rate, audio.width, audio.channels) == (8000, 2, 2)
    assert audio.pcm == b"\x01\x00" * 800
    assert audio.seconds == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("UklGRg==", "audio must be"),
        ({"format": "mp3", "data": ""}, "audio must be"),
        ({"format": "wav", "data": "not base64!"}, "not a readable WAV"),
        (wav(200_000, 10), "unsupported format 200000 Hz"),
        (wav(8000, 8000 * 31), "31.0 s long; the limit is 30 s"),
        (wav(16000, 0), "audio is empty"),
    ],
    ids=["not-an-object", "mp3", "not-base64", "rate", "too-long", "empty"],
)
def test_unusable_audio_is_refused_with_the_reason(value: Any, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason) as error:
        decode_audio(value)
    assert error.value.code == "bad_audio"
