"""The alicia bus protocol, version 1 (docs/protocol.md), as the integration reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import json
import re
from typing import Any

import voluptuous as vol

PROTOCOL_VERSION = 1
SMALL_LIMIT = 64 * 1024
AUDIO_LIMIT = 4 * 1024 * 1024
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_AUDIO_KINDS = frozenset({"stt_request", "route", "response"})


class ProtocolError(ValueError):
    """A message that breaks the contract; `code` is a docs/protocol.md error code."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the code apart from the text."""
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Message:
    """A valid message."""

    topic: str
    kind: str | None
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


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise vol.Invalid("must match ^[a-z0-9][a-z0-9_-]{0,63}$")
    return value


def _aware_time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise vol.Invalid("must be ISO 8601 with a time zone")
    return parsed


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise vol.Invalid("must be a number")
    return float(value)


def _text(longest: int) -> vol.All[Any]:
    return vol.All(str, vol.Length(min=1, max=longest), vol.Match(r"\S"))


def _capability(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"name": value}
    return _CAPABILITY(value)  # type: ignore[no-any-return]


_CAPABILITY = vol.Schema(
    {vol.Required("name"): vol.All(str, vol.Length(min=1, max=64))},
    extra=vol.ALLOW_EXTRA,
)

REGISTER = vol.Schema(
    {
        vol.Required("device_id"): _identifier,
        vol.Required("device_type"): vol.In(
            ["sensor", "actuator", "speaker", "controller", "service"]
        ),
        vol.Required("capabilities"): vol.All(list, vol.Length(max=64), [_capability]),
        vol.Optional("name"): vol.All(str, vol.Length(max=128)),
        vol.Optional("metadata", default=dict): dict,
        vol.Optional("constraints", default=dict): dict,
        vol.Optional("heartbeat_interval", default=60): vol.All(
            _number, vol.Range(min=1, max=3600)
        ),
        vol.Optional("via_device"): vol.Any(None, _identifier),
    },
    extra=vol.ALLOW_EXTRA,
)

UNREGISTER = vol.Schema({vol.Required("device_id"): _identifier}, extra=vol.ALLOW_EXTRA)

HEARTBEAT = vol.All(
    vol.Schema(
        {
            vol.Exclusive("service_id", "sender"): _identifier,
            vol.Exclusive("device_id", "sender"): _identifier,
            vol.Required("status"): vol.In(["healthy", "degraded", "unhealthy"]),
            vol.Optional("metrics", default=dict): {
                str: vol.All(_number, vol.Range(min=0))
            },
            vol.Optional("interval", default=60): vol.All(
                _number, vol.Range(min=1, max=3600)
            ),
        },
        extra=vol.ALLOW_EXTRA,
    ),
    vol.Any(
        vol.Schema({vol.Required("service_id"): object}, extra=vol.ALLOW_EXTRA),
        vol.Schema({vol.Required("device_id"): object}, extra=vol.ALLOW_EXTRA),
        msg="service_id or device_id is required",
    ),
)

_OPTIONAL_SHORT = vol.Any(None, vol.All(str, vol.Length(max=64)))
AI_REQUEST = vol.Schema(
    {
        vol.Required("text"): _text(10_000),
        vol.Optional("language"): _OPTIONAL_SHORT,
        vol.Optional("conversation_id"): vol.Any(
            None, vol.All(str, vol.Length(max=128))
        ),
    },
    extra=vol.ALLOW_EXTRA,
)
TTS_REQUEST = vol.Schema(
    {vol.Required("text"): _text(100_000), vol.Optional("voice"): vol.Any(None, str)},
    extra=vol.ALLOW_EXTRA,
)
_AUDIO = vol.Schema(
    {vol.Required("format"): "wav", vol.Required("data"): str}, extra=vol.ALLOW_EXTRA
)
STT_REQUEST = vol.Schema(
    {vol.Required("audio"): object, vol.Optional("language"): _OPTIONAL_SHORT},
    extra=vol.ALLOW_EXTRA,
)
ROUTE = STT_REQUEST.extend(
    {
        vol.Optional("conversation_id"): vol.Any(
            None, vol.All(str, vol.Length(max=128))
        ),
        vol.Optional("audio_reply"): bool,
    }
)
VOCABULARY = vol.Schema(
    {
        vol.Required("phrases"): vol.All(
            list, vol.Length(max=1000), [vol.All(str, vol.Length(max=100))]
        )
    },
    extra=vol.ALLOW_EXTRA,
)

PAYLOADS: dict[str, vol.Schema | vol.All[Any]] = {
    "register": REGISTER,
    "unregister": UNREGISTER,
    "heartbeat": HEARTBEAT,
    "ai_request": AI_REQUEST,
    "tts_request": TTS_REQUEST,
    "stt_request": STT_REQUEST,
    "route": ROUTE,
    "vocabulary": VOCABULARY,
}

ENVELOPE = vol.Schema(
    {
        vol.Required("message_id"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Required("timestamp"): _aware_time,
        vol.Required("source"): _identifier,
        vol.Required("destination"): vol.Any("broadcast", _identifier),
        vol.Required("message_type"): vol.In(
            ["request", "response", "event", "command"]
        ),
        vol.Optional("correlation_id"): vol.Any(None, str),
        vol.Optional("reply_to"): vol.Any(None, str),
        vol.Required("payload"): dict,
        vol.Optional("security"): vol.Any(None, dict),
    },
    extra=vol.ALLOW_EXTRA,
)


def kind_of(topic: str, prefix: str = "alicia") -> str | None:
    """The kind of message a topic carries; None outside the contract."""
    head, _, rest = topic.partition("/")
    if head != prefix:
        return None
    parts = rest.split("/")
    match parts:
        case ["system", "discovery", "register" | "capabilities"]:
            return "register"
        case ["system", "discovery", "register", _]:
            return "register"
        case ["system", "discovery", "unregister"]:
            return "unregister"
        case ["system", "health", "heartbeat"]:
            return "heartbeat"
        case ["voice", "stt", "request"]:
            return "stt_request"
        case ["voice", "ai", "request"]:
            return "ai_request"
        case ["voice", "tts", "request"]:
            return "tts_request"
        case ["voice", "command", "route"]:
            return "route"
        case ["voice", "stt", "vocabulary"]:
            return "vocabulary"
        case ["devices", "speakers", "announce"]:
            return "announce"
        case ["devices", "sensors", "telemetry"]:
            return "telemetry"
        case ["integration", "ha", "command"]:
            return "ha_command"
        case [*_, "response"] if len(parts) >= 3:
            return "response"
        case ["devices", _, "status" | "data" | "command" | "config" as leaf]:
            return leaf
    return None


def read_message(topic: str, raw: bytes | str, prefix: str = "alicia") -> Message:
    """Validate one MQTT message; ProtocolError says what is wrong."""
    data_bytes = raw.encode() if isinstance(raw, str) else raw
    kind = kind_of(topic, prefix)
    limit = AUDIO_LIMIT if kind in _AUDIO_KINDS else SMALL_LIMIT
    if len(data_bytes) > limit:
        raise ProtocolError(
            "too_large", f"{len(data_bytes)} bytes is over the {limit}-byte limit"
        )
    try:
        data = json.loads(data_bytes)
    except (UnicodeDecodeError, ValueError) as err:
        raise ProtocolError("malformed_json", f"not UTF-8 JSON: {err}") from err
    if not isinstance(data, dict):
        raise ProtocolError("not_an_object", "a message must be a JSON object")
    version = data.get("protocol")
    if isinstance(version, bool) or version != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_protocol", f"protocol {version!r} is not supported"
        )
    envelope = _validate(ENVELOPE, data, "")
    if envelope["message_type"] == "response" and not isinstance(
        envelope.get("correlation_id"), str
    ):
        raise ProtocolError("missing_field", "correlation_id is required in a response")
    reply_to = envelope.get("reply_to")
    if reply_to is not None and (
        not reply_to.startswith(f"{prefix}/") or "+" in reply_to or "#" in reply_to
    ):
        raise ProtocolError(
            "invalid_field",
            f"reply_to: must be a topic under {prefix}/ without wildcards",
        )
    payload = envelope["payload"]
    if kind is not None and (schema := PAYLOADS.get(kind)) is not None:
        payload = _validate(schema, payload, "payload.")
        if kind in ("stt_request", "route"):
            _validate(_AUDIO, payload["audio"], "payload.audio.", code="bad_audio")
    return Message(
        topic=topic,
        kind=kind,
        message_id=envelope["message_id"],
        timestamp=envelope["timestamp"],
        source=envelope["source"],
        destination=envelope["destination"],
        message_type=envelope["message_type"],
        correlation_id=envelope.get("correlation_id"),
        reply_to=reply_to,
        payload=payload,
        security=envelope.get("security") or {},
        raw=data,
    )


def _validate(schema: Any, value: Any, where: str, code: str | None = None) -> Any:
    try:
        return schema(value)
    except vol.MultipleInvalid as err:
        first = err.errors[0]
        path = where + ".".join(str(p) for p in first.path)
        missing = isinstance(first, vol.RequiredFieldInvalid)
        raise ProtocolError(
            code or ("missing_field" if missing else "invalid_field"),
            f"{path}: {first.msg}",
        ) from err
    except vol.Invalid as err:
        raise ProtocolError(code or "invalid_field", f"{where}{err.msg}") from err
