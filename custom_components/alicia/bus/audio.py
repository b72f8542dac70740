"""The audio payload: a WAV file in base64 ({"format": "wav", "data": ...})."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
import io
from typing import Any
import wave

from .errors import ProtocolError

# Above any rate, width and channel count Wyoming's audio-start allows in practice.
MAX_BYTES_PER_SECOND = 192_000 * 4 * 8


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded WAV audio."""

    rate: int
    width: int
    channels: int
    pcm: bytes

    @property
    def seconds(self) -> float:
        """Duration."""
        return len(self.pcm) / (self.rate * self.width * self.channels)


def decode_audio(value: Any, max_seconds: float = 30.0) -> Audio:
    """The payload's audio as PCM; ProtocolError('bad_audio') if it is not usable."""
    if (
        not isinstance(value, dict)
        or value.get("format") != "wav"
        or not isinstance(value.get("data"), str)
    ):
        raise ProtocolError(
            "bad_audio", 'audio must be {"format": "wav", "data": "<base64 WAV>"}'
        )
    try:
        blob = base64.b64decode(value["data"], validate=True)
        with wave.open(io.BytesIO(blob)) as wav:
            rate, width, channels = (
                wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            )  # fmt: skip
            if not (1 <= rate <= 192_000 and 1 <= width <= 4 and 1 <= channels <= 8):
                raise ValueError(
                    f"unsupported format {rate} Hz, {width} B, {channels} ch"
                )
            # The header's length is checked before any frame is read.
            if wav.getnframes() / rate > max_seconds:
                raise ProtocolError(
                    "bad_audio",
                    f"audio is {wav.getnframes() / rate:.1f} s long; the limit is {max_seconds:g} s",
                )
            audio = Audio(rate, width, channels, wav.readframes(wav.getnframes()))
    except (binascii.Error, wave.Error, EOFError, ValueError) as err:
        raise ProtocolError(
            "bad_audio", f"audio is not a readable WAV file: {err}"
        ) from err
    if not audio.pcm:
        raise ProtocolError("bad_audio", "audio is empty")
    return audio


def encode_audio(
    pcm: bytes, rate: int, width: int = 2, channels: int = 1
) -> dict[str, str]:
    """PCM as the payload's base64 WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setframerate(rate)
        wav.setsampwidth(width)
        wav.setnchannels(channels)
        wav.writeframes(pcm)
    return {
        "format": "wav",
        "data": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }
