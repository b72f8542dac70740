"""The version 1 envelope: reading one from the wire, and writing a new one."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import json
from typing import Any
import uuid

from . import PROTOCOL_VERSION
from .errors import ProtocolError
from .payloads import Payload, parse_payload
from .text import clean_text, excerpt, nested_deeper_than
from .topics import REPLIES, Kind, is_device_id, is_identifier, kind_of, size_limit

MESSAGE_TYPES = ("request", "response", "event", "command")
REQUIRED = (
    "message_id",
    "timestamp",
    "source",
    "destination",
    "message_type",
    "payload",
)
# JSON nested deeper than this is refused before it is parsed any further.
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Envelope:
    """A valid message: the envelope's fields, its raw payload, and the payload's model."""

    topic: str
    kind: Kind | None
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
    body: Payload | None


def timestamp(now: datetime | None = None) -> str:
    """The one way timestamps are written: UTC, milliseconds, Z."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_message(
    source: str,
    message_type: str,
    payload: dict[str, Any],
    *,
    destination: str = "broadcast",
    correlation_id: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """A new message in the version 1 envelope, unsigned (`security` empty)."""
    return {
        "protocol": PROTOCOL_VERSION,
        "message_id": str(uuid.uuid4()),
        "timestamp": timestamp(),
        "source": source,
        "destination": destination,
        "message_type": message_type,
        "correlation_id": correlation_id,
        "reply_to": reply_to,
        "payload": payload,
        "security": {},
    }


@dataclass(frozen=True, slots=True)
class Echo:
    """What may be echoed back to the sender of a message that failed to parse."""

    source: str | None
    reply_to: str | None
    correlation_id: str


def echo(data: dict[str, Any] | None, prefix: str = "alicia") -> Echo:
    """The sender, its reply_to and its message id, each only if valid and clean.

    A hostile id or topic could not even be signed or published (lone surrogates),
    and a reply_to outside the sender's namespace is not honoured.
    """
    data = data or {}
    source = data.get("source") if is_identifier(data.get("source")) else None
    reply_to = data.get("reply_to")
    clean_reply: str | None = None
    if (
        source
        and isinstance(reply_to, str)
        and reply_to_allowed(reply_to, source, prefix)
    ):
        with contextlib.suppress(ProtocolError):
            clean_reply = clean_text(reply_to, "reply_to", longest=256)
    try:
        correlation = clean_text(
            data.get("message_id"), "message_id", longest=64, shortest=1
        )
    except ProtocolError:
        correlation = "unknown"
    return Echo(source, clean_reply, correlation)


def error_payload(code: str, message: str) -> dict[str, Any]:
    """The payload of an error response."""
    return {"error": {"code": code, "message": message}}


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(
            _has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


# Longest reply_to honoured (ids are at most 64 characters).
MAX_REPLY_TO = 256


def publishable(topic: str) -> bool:
    """Whether a broker takes a publish to topic (MQTT 3.1.1 4.7, 1.5.3; Mosquitto's checks).

    A topic with a control character (U+0001-U+001F, U+007F-U+009F), a noncharacter
    (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF), a surrogate, a wildcard or NUL is a malformed
    packet to Mosquitto: publishing an answer there dropped the answering side's
    connection (all of Home Assistant's MQTT) on one stranger's request.
    """
    if not 0 < len(topic) <= MAX_REPLY_TO:
        return False
    for char in topic:
        code = ord(char)
        if (
            char in "+#"
            or code < 0x20
            or 0x7F <= code <= 0x9F
            or 0xD800 <= code <= 0xDFFF
            or 0xFDD0 <= code <= 0xFDEF
            or code & 0xFFFE == 0xFFFE
        ):
            return False
    return True


def reply_to_allowed(reply_to: str, source: str, prefix: str = "alicia") -> bool:
    """Whether a requester may have its answer sent there: only where its answers belong.

    {prefix}/devices/{source}/replies/..., or, outside every device's namespace, a
    response topic ending in its id ({prefix}/.../response/{source}). Anything else
    would make the answering side publish, signed, wherever a requester asks (a way
    around the broker's ACL): another device's namespace, and the requester's own
    contract topics (status, config, command, satellite/...), which the answering
    side would overwrite and the broker would let it (docs/security.md).
    """
    parts = reply_to.split("/")
    if parts[0] != prefix or not publishable(reply_to):
        return False
    if len(parts) >= 3 and parts[1] == "devices":
        # Only {source}/replies/...: the ACL lets a service write there and nowhere
        # else in a device's namespace; devices/speakers/... is no device's.
        return _in_replies(parts, source)
    return len(parts) >= 4 and parts[-2] == "response" and parts[-1] == source


def _in_replies(parts: list[str], source: str) -> bool:
    """Whether topic levels are {prefix}/devices/{source}/replies/{something...}."""
    return (
        len(parts) >= 5
        and parts[1:4] == ["devices", source, REPLIES]
        and is_device_id(source)
    )


def _invalid(data: dict[str, Any], path: str, problem: str) -> ProtocolError:
    return ProtocolError("invalid_field", f"{path}: {problem}", data)


def parse(topic: str, raw: bytes | str, prefix: str = "alicia") -> Envelope:
    """Check one MQTT message against the contract; ProtocolError says what is wrong."""
    data_bytes = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    kind = kind_of(topic, prefix)
    limit = size_limit(kind)
    if len(data_bytes) > limit:
        raise ProtocolError(
            "too_large",
            f"{len(data_bytes)} bytes is over the {limit}-byte limit of {topic}",
        )
    try:
        text = data_bytes.decode("utf-8")
        if nested_deeper_than(text, MAX_DEPTH):
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ProtocolError("malformed_json", f"not UTF-8 JSON: {err}") from err
    if not isinstance(data, dict):
        raise ProtocolError(
            "not_an_object",
            f"a message must be a JSON object, not {type(data).__name__}",
        )
    if "\\u" in text and _has_lone_surrogate(data):
        # JSON escapes can spell text that has no UTF-8 form; stored, it would
        # break every later save of whatever holds it.
        raise ProtocolError("invalid_field", "a string holds a lone surrogate", data)
    version = data.get("protocol")
    if isinstance(version, bool) or version != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_protocol",
            f"protocol {excerpt(version)} is not supported (expected {PROTOCOL_VERSION}); "
            "send the capability document as the payload of an envelope (docs/protocol.md)",
            data,
        )
    for name in REQUIRED:
        if name not in data:
            raise ProtocolError("missing_field", f"{name} is required", data)
    message_id = data["message_id"]
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 64:
        raise _invalid(data, "message_id", "must be a string of 1 to 64 characters")
    clean_text(message_id, "message_id", longest=64)
    if not is_identifier(source := data["source"]):
        raise _invalid(data, "source", "must match ^[a-z0-9][a-z0-9_-]{0,63}$")
    destination = data["destination"]
    if destination != "broadcast" and not is_identifier(destination):
        raise _invalid(data, "destination", "must be broadcast or an id")
    message_type = data["message_type"]
    if message_type not in MESSAGE_TYPES:
        raise _invalid(
            data, "message_type", f"must be one of {', '.join(MESSAGE_TYPES)}"
        )
    sent = _parse_time(data)
    correlation_id = data.get("correlation_id")
    if message_type == "response" and not isinstance(correlation_id, str):
        raise ProtocolError(
            "missing_field", "correlation_id is required in a response", data
        )
    if correlation_id is not None and not isinstance(correlation_id, str):
        raise _invalid(data, "correlation_id", "must be a string")
    reply_to = data.get("reply_to")
    if reply_to is not None and (
        not isinstance(reply_to, str) or not reply_to_allowed(reply_to, source, prefix)
    ):
        raise _invalid(
            data,
            "reply_to",
            f"must be under {prefix}/devices/{source}/{REPLIES}/, or"
            f" {prefix}/.../response/{source} outside the devices' namespaces;"
            " a device's other topics (status, config, command, ...) take no answers",
        )
    payload = data["payload"]
    if not isinstance(payload, dict):
        raise _invalid(data, "payload", "must be an object")
    security = data.get("security") or {}
    if not isinstance(security, dict):
        raise _invalid(data, "security", "must be an object")
    try:
        body = parse_payload(kind, payload)
    except ProtocolError as err:
        err.envelope = data
        raise
    return Envelope(
        topic, kind, message_id, sent, source, destination, message_type,
        correlation_id, reply_to, payload, security, data, body,
    )  # fmt: skip


def _parse_time(data: dict[str, Any]) -> datetime:
    value = data.get("timestamp")
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _invalid(data, "timestamp", "must be ISO 8601 with a time zone")
    return parsed
