"""The answers to the voice requests (stt, ai, tts, route), as docs/protocol.md lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The payload's audio: {"format": "wav", "data": "<base64 WAV>"} (audio.encode_audio).
type EncodedAudio = dict[str, str]


@dataclass(frozen=True, slots=True)
class SttAnswer:
    """What was said, and in which language it was heard."""

    text: str
    language: str

    def to_payload(self) -> dict[str, Any]:
        """The response payload."""
        return {"text": self.text, "language": self.language}


@dataclass(frozen=True, slots=True)
class AiAnswer:
    """The assistant's answer."""

    text: str

    def to_payload(self) -> dict[str, Any]:
        """The response payload."""
        return {"text": self.text}


@dataclass(frozen=True, slots=True)
class TtsAnswer:
    """The text, spoken."""

    audio: EncodedAudio

    def to_payload(self) -> dict[str, Any]:
        """The response payload."""
        return {"audio": self.audio}


@dataclass(frozen=True, slots=True)
class RouteTimings:
    """How long each step of a routed command took, in milliseconds."""

    stt_ms: float
    total_ms: float
    ai_ms: float | None = None
    tts_ms: float | None = None

    def to_payload(self) -> dict[str, float]:
        """Only the steps that ran."""
        steps = {"stt_ms": self.stt_ms, "ai_ms": self.ai_ms, "tts_ms": self.tts_ms}
        return {k: v for k, v in steps.items() if v is not None} | {
            "total_ms": self.total_ms
        }


@dataclass(frozen=True, slots=True)
class RouteAnswer:
    """A spoken command heard, answered and announced on the requester's speaker."""

    transcript: str
    answer: str
    language: str
    timings: RouteTimings
    announcement_id: str | None = None
    audio: EncodedAudio | None = None

    def to_payload(self) -> dict[str, Any]:
        """The response payload (announcement_id and audio only when there are)."""
        payload: dict[str, Any] = {
            "transcript": self.transcript,
            "answer": self.answer,
            "language": self.language,
        }
        if self.announcement_id is not None:
            payload["announcement_id"] = self.announcement_id
        if self.audio is not None:
            payload["audio"] = self.audio
        payload["timings"] = self.timings.to_payload()
        return payload


type VoiceAnswer = SttAnswer | AiAnswer | TtsAnswer | RouteAnswer
