"""The alicia bus protocol, version 1 (docs/protocol.md), as the bridge reads and writes it."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
import io
import json
import re
from typing import Any
import uuid
import wave

PROTOCOL_VERSION = 1
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SMALL_LIMIT = 64 * 1024
AUDIO_LIMIT = 4 * 1024 * 1024
MESSAGE_TYPES = ("request", "response", "event", "command")
DEVICE_TYPES = ("sensor", "actuator", "speaker", "controller", "service")
HEALTH_STATES = ("healthy", "degraded", "unhealthy")
METRICS = ("cpu_usage", "memory_usage", "response_time", "error_rate")


class ProtocolError(ValueError):
    """A message that breaks the protocol; `code` is one of docs/protocol.md's error codes."""

    def __init__(
        self, code: str, message: str, envelope: dict[str, Any] | None = None
    ) -> None:
        """Remember how far the message could be read, to answer its sender."""
        super().__init__(message)
        self.code = code
        self.envelope = envelope


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed, valid message."""

    topic: str
    message_id: str
    timestamp: datetime
    source: str
    destination: str
    message_type: str
    correlation_id: str | None
    reply_to: str | None
    payload: dict[str, Any]
    security: dict[str, Any]
    raw: dict[str, Any]


def topic_kind(topic: str, prefix: str = "alicia") -> str | None:
    """Which kind of message a topic carries (None for topics outside the contract)."""
    parts = topic.split("/")
    if not parts or parts[0] != prefix:
        return None
    rest = parts[1:]
    fixed = {
        ("system", "discovery", "register"): "register",
        ("system", "discovery", "unregister"): "unregister",
        ("system", "discovery", "capabilities"): "register",
        ("system", "health", "heartbeat"): "heartbeat",
        ("system", "errors"): "error",
        ("voice", "stt", "request"): "stt_request",
        ("voice", "ai", "request"): "ai_request",
        ("voice", "tts", "request"): "tts_request",
        ("voice", "command", "route"): "route",
        ("voice", "stt", "vocabulary"): "vocabulary",
        ("system", "security", "hub"): "security_hub",
        ("system", "security", "trust"): "security_trust",
        ("devices", "speakers", "announce"): "announce",
        ("devices", "sensors", "telemetry"): "telemetry",
        ("integration", "ha", "command"): "ha_command",
        ("integration", "ha", "state"): "ha_state",
        ("integration", "analytics", "event"): "analytics",
    }
    if (kind := fixed.get(tuple(rest))) is not None:
        return kind
    if len(rest) == 4 and rest[:3] == ["system", "discovery", "register"]:
        return "register"
    if len(rest) >= 3 and rest[-1] == "response":
        return "response"
    if len(rest) == 3 and rest[0] == "devices":
        return {
            "status": "status",
            "data": "data",
            "command": "command",
            "config": "config",
        }.get(rest[2])
    return None


def size_limit(kind: str | None) -> int:
    """Largest message allowed for a kind of topic."""
    return AUDIO_LIMIT if kind in ("stt_request", "route", "response") else SMALL_LIMIT


def parse(topic: str, raw: bytes, prefix: str = "alicia") -> Envelope:
    """Check a message against the contract; ProtocolError says what is wrong."""
    kind = topic_kind(topic, prefix)
    if len(raw) > size_limit(kind):
        raise ProtocolError(
            "too_large",
            f"{len(raw)} bytes is over the {size_limit(kind)}-byte limit of {topic}",
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ProtocolError("malformed_json", f"not UTF-8 JSON: {err}") from err
    if not isinstance(data, dict):
        raise ProtocolError(
            "not_an_object",
            f"a message must be a JSON object, not {type(data).__name__}",
        )
    version = data.get("protocol")
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise ProtocolError(
            "unsupported_protocol",
            f"protocol {version!r} is not supported (expected 1)",
            data,
        )

    for name in (
        "message_id",
        "timestamp",
        "source",
        "destination",
        "message_type",
        "payload",
    ):
        if name not in data:
            raise ProtocolError("missing_field", f"{name} is required", data)
    message_id = _string(data, "message_id", 64)
    source = _ident(data, "source")
    destination = data["destination"]
    if destination != "broadcast":
        destination = _ident(data, "destination")
    message_type = data["message_type"]
    if message_type not in MESSAGE_TYPES:
        _invalid(data, "message_type", f"must be one of {', '.join(MESSAGE_TYPES)}")
    timestamp = _timestamp(data)
    correlation_id = data.get("correlation_id")
    if message_type == "response" and not isinstance(correlation_id, str):
        raise ProtocolError(
            "missing_field", "correlation_id is required in a response", data
        )
    if correlation_id is not None and not isinstance(correlation_id, str):
        _invalid(data, "correlation_id", "must be a string")
    reply_to = data.get("reply_to")
    if reply_to is not None and (
        not isinstance(reply_to, str)
        or not reply_to.startswith(f"{prefix}/")
        or any(c in reply_to for c in "+#\0")
    ):
        _invalid(data, "reply_to", f"must be a topic under {prefix}/ without wildcards")
    payload = data["payload"]
    if not isinstance(payload, dict):
        _invalid(data, "payload", "must be an object")
    security = data.get("security") or {}
    if not isinstance(security, dict):
        _invalid(data, "security", "must be an object")

    checker = _PAYLOADS.get(kind or "")
    if checker is not None:
        try:
            checker(payload)
        except ProtocolError as err:
            err.envelope = data
            raise
    return Envelope(
        topic, message_id, timestamp, source, destination, message_type,
        correlation_id, reply_to, payload, security, data,
    )  # fmt: skip


def envelope(
    source: str,
    message_type: str,
    payload: dict[str, Any],
    *,
    destination: str = "broadcast",
    correlation_id: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """A new message in the version 1 envelope."""
    return {
        "protocol": PROTOCOL_VERSION,
        "message_id": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "source": source,
        "destination": destination,
        "message_type": message_type,
        "correlation_id": correlation_id,
        "reply_to": reply_to,
        "payload": payload,
        "security": {},
    }


def error_payload(code: str, message: str) -> dict[str, Any]:
    """The payload of an error response."""
    return {"error": {"code": code, "message": message}}


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
    """The payload's {"format": "wav", "data": base64} as PCM; ProtocolError(bad_audio) otherwise."""
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
            audio = Audio(
                wav.getframerate(),
                wav.getsampwidth(),
                wav.getnchannels(),
                wav.readframes(wav.getnframes()),
            )
    except (binascii.Error, wave.Error, EOFError, ValueError) as err:
        raise ProtocolError(
            "bad_audio", f"audio is not a readable WAV file: {err}"
        ) from err
    if audio.seconds > max_seconds:
        raise ProtocolError(
            "bad_audio",
            f"audio is {audio.seconds:.1f} s long; the limit is {max_seconds:g} s",
        )
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


def _invalid(data: dict[str, Any], path: str, problem: str) -> None:
    raise ProtocolError("invalid_field", f"{path}: {problem}", data)


def _string(data: dict[str, Any], name: str, longest: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        _invalid(data, name, f"must be a string of 1 to {longest} characters")
    return str(value)


def _ident(data: dict[str, Any], name: str, path: str | None = None) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        _invalid(data, path or name, "must match ^[a-z0-9][a-z0-9_-]{0,63}$")
    return str(value)


def _timestamp(data: dict[str, Any]) -> datetime:
    value = data.get("timestamp")
    try:
        parsed = datetime.fromisoformat(str(value)) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        _invalid(data, "timestamp", "must be ISO 8601 with a time zone")
    assert parsed is not None
    return parsed


def _text(
    payload: dict[str, Any], name: str, longest: int = 10_000, required: bool = True
) -> None:
    if name not in payload and not required:
        return
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise ProtocolError(
            "missing_field" if name not in payload else "invalid_field",
            f"payload.{name}: must be a non-empty string of at most {longest} characters",
        )


def _optional_text(payload: dict[str, Any], name: str, longest: int = 64) -> None:
    value = payload.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > longest):
        raise ProtocolError(
            "invalid_field",
            f"payload.{name}: must be a string of at most {longest} characters",
        )


def _check_register(payload: dict[str, Any]) -> None:
    for name in ("device_id", "device_type", "capabilities"):
        if name not in payload:
            raise ProtocolError("missing_field", f"payload.{name} is required")
    _ident(payload, "device_id", "payload.device_id")
    if payload["device_type"] not in DEVICE_TYPES:
        raise ProtocolError(
            "invalid_field",
            f"payload.device_type: must be one of {', '.join(DEVICE_TYPES)}",
        )
    capabilities = payload["capabilities"]
    if not isinstance(capabilities, list) or len(capabilities) > 64:
        raise ProtocolError(
            "invalid_field", "payload.capabilities: must be a list of at most 64"
        )
    for index, capability in enumerate(capabilities):
        label: Any = (
            capability.get("name") if isinstance(capability, dict) else capability
        )
        if not isinstance(label, str) or not 1 <= len(label) <= 64:
            raise ProtocolError(
                "invalid_field",
                f"payload.capabilities[{index}]: needs a name of 1 to 64 characters",
            )
    interval = payload.get("heartbeat_interval", 60)
    if not _number(interval) or not 1 <= interval <= 3600:
        raise ProtocolError(
            "invalid_field", "payload.heartbeat_interval: must be 1 to 3600 seconds"
        )
    for name in ("metadata", "constraints"):
        if not isinstance(payload.get(name, {}), dict):
            raise ProtocolError("invalid_field", f"payload.{name}: must be an object")
    if payload.get("via_device") is not None:
        _ident(payload, "via_device", "payload.via_device")


def _check_unregister(payload: dict[str, Any]) -> None:
    if "device_id" not in payload:
        raise ProtocolError("missing_field", "payload.device_id is required")
    _ident(payload, "device_id", "payload.device_id")


def _check_heartbeat(payload: dict[str, Any]) -> None:
    key = "service_id" if "service_id" in payload else "device_id"
    if key not in payload:
        raise ProtocolError(
            "missing_field", "payload.service_id or payload.device_id is required"
        )
    _ident(payload, key, f"payload.{key}")
    if payload.get("status") not in HEALTH_STATES:
        raise ProtocolError(
            "invalid_field",
            f"payload.status: must be one of {', '.join(HEALTH_STATES)}",
        )
    metrics = payload.get("metrics", {})
    if not isinstance(metrics, dict):
        raise ProtocolError("invalid_field", "payload.metrics: must be an object")
    for name, value in metrics.items():
        if not _number(value) or value < 0:
            raise ProtocolError(
                "invalid_field", f"payload.metrics.{name}: must be a number >= 0"
            )
    interval = payload.get("interval", 60)
    if not _number(interval) or not 1 <= interval <= 3600:
        raise ProtocolError(
            "invalid_field", "payload.interval: must be 1 to 3600 seconds"
        )


def _check_stt(payload: dict[str, Any]) -> None:
    if "audio" not in payload:
        raise ProtocolError("missing_field", "payload.audio is required")
    _optional_text(payload, "language")


def _check_ai(payload: dict[str, Any]) -> None:
    _text(payload, "text")
    _optional_text(payload, "language")
    _optional_text(payload, "conversation_id", 128)


def _check_tts(payload: dict[str, Any]) -> None:
    _text(payload, "text", 100_000)
    _optional_text(payload, "voice", 128)


def _check_route(payload: dict[str, Any]) -> None:
    _check_stt(payload)
    _optional_text(payload, "conversation_id", 128)
    if not isinstance(payload.get("audio_reply", False), bool):
        raise ProtocolError(
            "invalid_field", "payload.audio_reply: must be true or false"
        )


def _check_vocabulary(payload: dict[str, Any]) -> None:
    phrases = payload.get("phrases")
    if (
        not isinstance(phrases, list)
        or len(phrases) > 1000
        or not all(isinstance(p, str) and len(p) <= 100 for p in phrases)
    ):
        raise ProtocolError(
            "invalid_field", "payload.phrases: must be a list of at most 1000 strings"
        )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_PAYLOADS = {
    "register": _check_register,
    "unregister": _check_unregister,
    "heartbeat": _check_heartbeat,
    "stt_request": _check_stt,
    "ai_request": _check_ai,
    "tts_request": _check_tts,
    "route": _check_route,
    "vocabulary": _check_vocabulary,
}
