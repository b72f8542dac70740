"""The topic table: which kind of message each topic carries, and how large it may be."""

from __future__ import annotations

from enum import StrEnum
import re

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# The hub's source id in every message it sends.
HUB_SOURCE = "home-assistant"
SMALL_LIMIT = 64 * 1024
# The hub's trust list names every approved device, its key and its area: a thousand
# devices take ~100 KB. Only the hub signs it; the size is still checked first.
TRUST_LIMIT = 1024 * 1024
AUDIO_LIMIT = 4 * 1024 * 1024


class Kind(StrEnum):
    """What a topic carries."""

    REGISTER = "register"
    UNREGISTER = "unregister"
    HEARTBEAT = "heartbeat"
    ERROR = "error"
    STT_REQUEST = "stt_request"
    AI_REQUEST = "ai_request"
    TTS_REQUEST = "tts_request"
    ROUTE = "route"
    VOCABULARY = "vocabulary"
    SECURITY_HUB = "security_hub"
    SECURITY_TRUST = "security_trust"
    ANNOUNCE = "announce"
    TELEMETRY = "telemetry"
    HA_COMMAND = "ha_command"
    HA_STATE = "ha_state"
    ANALYTICS = "analytics"
    RESPONSE = "response"
    STATUS = "status"
    DATA = "data"
    COMMAND = "command"
    CONFIG = "config"
    SATELLITE_RUN = "satellite_run"
    SATELLITE_AUDIO = "satellite_audio"
    SATELLITE_PLAYED = "satellite_played"
    SATELLITE_EVENT = "satellite_event"


_FIXED = {
    ("system", "discovery", "register"): Kind.REGISTER,
    ("system", "discovery", "capabilities"): Kind.REGISTER,
    ("system", "discovery", "unregister"): Kind.UNREGISTER,
    ("system", "health", "heartbeat"): Kind.HEARTBEAT,
    ("system", "errors"): Kind.ERROR,
    ("system", "security", "hub"): Kind.SECURITY_HUB,
    ("system", "security", "trust"): Kind.SECURITY_TRUST,
    ("voice", "stt", "request"): Kind.STT_REQUEST,
    ("voice", "ai", "request"): Kind.AI_REQUEST,
    ("voice", "tts", "request"): Kind.TTS_REQUEST,
    ("voice", "command", "route"): Kind.ROUTE,
    ("voice", "stt", "vocabulary"): Kind.VOCABULARY,
    ("devices", "speakers", "announce"): Kind.ANNOUNCE,
    ("devices", "sensors", "telemetry"): Kind.TELEMETRY,
    ("integration", "ha", "command"): Kind.HA_COMMAND,
    ("integration", "analytics", "event"): Kind.ANALYTICS,
}
# The fixed names under {prefix}/devices/ (speakers, sensors): shared topics, no device's.
SHARED_NAMESPACES = frozenset(rest[1] for rest in _FIXED if rest[0] == "devices")
# Ids no device may take: HA's own, and the shared namespaces (a device owns
# {prefix}/devices/{its id}/#: named "speakers" it would read every announcement).
RESERVED_IDS = SHARED_NAMESPACES | {HUB_SOURCE}
# A device's inbox for answers: {prefix}/devices/{id}/replies/... (its reply_to); the
# only part of a device's namespace a service may write (docs/security.md).
REPLIES = "replies"
_DEVICE_LEAVES = {
    "status": Kind.STATUS,
    "data": Kind.DATA,
    "command": Kind.COMMAND,
    "config": Kind.CONFIG,
}
# A satellite's topics: alicia/devices/{device_id}/satellite/{leaf}.
_SATELLITE_LEAVES = {
    "run": Kind.SATELLITE_RUN,
    "audio": Kind.SATELLITE_AUDIO,
    "played": Kind.SATELLITE_PLAYED,
    "event": Kind.SATELLITE_EVENT,
}
# Kinds whose messages carry audio, and may be large.
AUDIO_KINDS = frozenset({Kind.STT_REQUEST, Kind.ROUTE, Kind.RESPONSE})
# Kinds that are state, published retained on purpose: delivered late by design
# (a device's settings too: it gets them when it next connects, days later maybe).
RETAINED_KINDS = frozenset(
    {Kind.REGISTER, Kind.STATUS, Kind.SECURITY_HUB, Kind.SECURITY_TRUST,
     Kind.VOCABULARY, Kind.HA_STATE, Kind.CONFIG}
)  # fmt: skip


def is_identifier(value: object) -> bool:
    """A device, service or source id: lowercase letters, digits, _ and -, at most 64."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def is_device_id(value: object) -> bool:
    """An id a device may have: an identifier, and none of RESERVED_IDS."""
    return is_identifier(value) and value not in RESERVED_IDS


def kind_of(topic: str, prefix: str = "alicia") -> Kind | None:
    """The kind of message a topic carries; None outside the contract."""
    parts = topic.split("/")
    if parts[0] != prefix:
        return None
    rest = parts[1:]
    if (kind := _FIXED.get(tuple(rest))) is not None:
        return kind
    match rest:
        case ["system", "discovery", "register", device_id] if is_identifier(device_id):
            return Kind.REGISTER
        case ["integration", "ha", "state", _]:
            return Kind.HA_STATE
        case [_, _, *_, "response"]:
            return Kind.RESPONSE
        case [_, _, *_, "response", requester] if is_identifier(requester):
            # A response topic of the requester's own (its reply_to).
            return Kind.RESPONSE
        case ["devices", device_id, "replies", _, *_] if is_identifier(device_id):
            return Kind.RESPONSE
        case ["devices", device_id, leaf] if is_identifier(device_id):
            return _DEVICE_LEAVES.get(leaf)
        case ["devices", device_id, "satellite", leaf] if is_identifier(device_id):
            return _SATELLITE_LEAVES.get(leaf)
    return None


def size_limit(kind: Kind | None) -> int:
    """The largest message a kind of topic accepts, in bytes."""
    if kind in AUDIO_KINDS:
        return AUDIO_LIMIT
    return TRUST_LIMIT if kind is Kind.SECURITY_TRUST else SMALL_LIMIT
