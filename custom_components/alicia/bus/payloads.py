"""The payload of each kind of message, validated at the edge into typed models."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import ProtocolError
from .numbers import number
from .plain_json import MAX_NESTING, check_json
from .reported import Report, Telemetry
from .satellite import SatelliteAudio, SatelliteEvent, SatellitePlayed, SatelliteRun
from .signing import is_fingerprint
from .status import Status
from .text import clean_text, excerpt, optional_text, required_text
from .topics import RESERVED_IDS, Kind, is_identifier, size_limit
from .vocabulary import Vocabulary

MAX_CAPABILITIES = 64
# A capability's parameters, in characters as json.dumps writes them (16 wake words
# with phrases of 64 escaped characters fit).
MAX_PARAMETERS = 16_000
# A registration as stored but its parameters, in characters as json.dumps writes it: a
# message is at most size_limit bytes, each written in at most 4 characters ("1e15," is
# "1000000000000000.0, ", a 2-byte letter a 6-character escape), plus defaults filled.
MAX_DOCUMENT = 5 * size_limit(Kind.REGISTER)
# Device metadata HA shows (device registry, UI): checked as names are.
SHOWN_METADATA = ("manufacturer", "model", "version", "location", "serial")


class DeviceType(StrEnum):
    """What a device is, in its registration."""

    SENSOR = "sensor"
    ACTUATOR = "actuator"
    SPEAKER = "speaker"
    CONTROLLER = "controller"
    SERVICE = "service"


class Health(StrEnum):
    """A heartbeat's status."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


def _identifier(payload: dict[str, Any], name: str) -> str:
    if name not in payload:
        raise ProtocolError("missing_field", f"payload.{name} is required")
    value = payload[name]
    if not is_identifier(value):
        raise ProtocolError(
            "invalid_field", f"payload.{name}: must match ^[a-z0-9][a-z0-9_-]{{0,63}}$"
        )
    return str(value)


def _seconds(payload: dict[str, Any], name: str, default: float) -> float:
    value = payload.get(name, default)
    return number(value, f"payload.{name}", low=1, high=3600, what="1 to 3600 seconds")


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    value = payload.get(name) or {}
    if not isinstance(value, dict):
        raise ProtocolError("invalid_field", f"payload.{name}: must be an object")
    return value


def _parameters(capability: dict[str, Any], path: str) -> None:
    value = capability.get("parameters")
    if value is None:
        return
    if not isinstance(value, dict):
        raise ProtocolError("invalid_field", f"{path}: must be an object")
    check_json(value, path, longest=MAX_PARAMETERS)


def _check_kept(document: dict[str, Any]) -> None:
    # All of it is stored as sent: HA's writer takes no integer past 64 bits, and one
    # stranger's pending registration holding one failed every later save. Parameters
    # are bounded on their own (_parameters); a message nests MAX_NESTING deep, its
    # payload one level in.
    rest = [
        {k: v for k, v in capability.items() if k != "parameters"}
        for capability in document["capabilities"]
    ]
    check_json(
        {**document, "capabilities": rest},
        "payload",
        longest=MAX_DOCUMENT,
        deepest=MAX_NESTING - 1,
    )


@dataclass(frozen=True, slots=True)
class Registration:
    """A device's capability document; `document` is it with defaults filled, as stored."""

    device_id: str
    device_type: DeviceType
    name: str | None
    capabilities: tuple[dict[str, Any], ...]
    metadata: dict[str, Any]
    heartbeat_interval: float
    via_device: str | None
    public_key: str | None
    document: dict[str, Any]

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Registration:
        """Validate; capabilities given as plain names become {"name": ...}."""
        device_id = _identifier(payload, "device_id")
        if device_id in RESERVED_IDS:
            # Home Assistant's own name on the bus (its messages are trusted as HA's),
            # or a shared namespace (devices/speakers/..., devices/sensors/...): a
            # device named so would own every device's announcements or telemetry.
            raise ProtocolError(
                "invalid_field", f"payload.device_id: {device_id} is reserved"
            )
        if "device_type" not in payload:
            raise ProtocolError("missing_field", "payload.device_type is required")
        try:
            device_type = DeviceType(payload["device_type"])
        except (ValueError, TypeError) as err:
            raise ProtocolError(
                "invalid_field",
                f"payload.device_type: must be one of {', '.join(DeviceType)}",
            ) from err
        if "capabilities" not in payload:
            raise ProtocolError("missing_field", "payload.capabilities is required")
        listed = payload["capabilities"]
        if not isinstance(listed, list) or len(listed) > MAX_CAPABILITIES:
            raise ProtocolError(
                "invalid_field",
                f"payload.capabilities: must be a list of at most {MAX_CAPABILITIES}",
            )
        capabilities = []
        for index, entry in enumerate(listed):
            capability = {"name": entry} if isinstance(entry, str) else entry
            if not isinstance(capability, dict):
                raise ProtocolError(
                    "invalid_field", f"payload.capabilities[{index}]: needs a name"
                )
            clean_text(
                capability.get("name"), f"payload.capabilities[{index}].name",
                longest=64, shortest=1,
            )  # fmt: skip
            _parameters(capability, f"payload.capabilities[{index}].parameters")
            capabilities.append(capability)
        metadata = _object(payload, "metadata")
        for key in SHOWN_METADATA:
            if metadata.get(key) is not None:
                clean_text(metadata[key], f"payload.metadata.{key}", longest=128)
        via = payload.get("via_device")
        if via is not None:
            via = _identifier(payload, "via_device")
        public_key = payload.get("public_key")
        if public_key is not None and not isinstance(public_key, str):
            raise ProtocolError("invalid_field", "payload.public_key: must be text")
        document = {
            **payload,
            "capabilities": capabilities,
            "metadata": metadata,
            "constraints": _object(payload, "constraints"),
            "heartbeat_interval": _seconds(payload, "heartbeat_interval", 60),
        }
        _check_kept(document)
        return cls(
            device_id=device_id,
            device_type=device_type,
            name=optional_text(payload, "name", longest=128),
            capabilities=tuple(capabilities),
            metadata=metadata,
            heartbeat_interval=document["heartbeat_interval"],
            via_device=via,
            public_key=public_key,
            document=document,
        )


@dataclass(frozen=True, slots=True)
class Unregister:
    """A device leaving."""

    device_id: str

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Unregister:
        """Validate."""
        return cls(_identifier(payload, "device_id"))


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A device's or service's health."""

    sender_id: str
    status: Health
    metrics: dict[str, float]
    interval: float
    # The fingerprint of the only hub key the sender accepts (a bridge's pin).
    hub_key: str | None = None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Heartbeat:
        """Validate: service_id or device_id, a status, metrics >= 0, a hub_key fingerprint."""
        if "service_id" not in payload and "device_id" not in payload:
            raise ProtocolError(
                "missing_field", "payload.service_id or payload.device_id is required"
            )
        sender = _identifier(
            payload, "service_id" if "service_id" in payload else "device_id"
        )
        try:
            status = Health(str(payload.get("status")))
        except ValueError as err:
            raise ProtocolError(
                "invalid_field", f"payload.status: must be one of {', '.join(Health)}"
            ) from err
        metrics = {}
        for name, value in _object(payload, "metrics").items():
            path = f"payload.metrics[{excerpt(name)}]"
            key = clean_text(name, "payload.metrics", longest=64, shortest=1)
            metrics[key] = number(value, path, low=0, what="a number from 0 to 2**53")
        hub_key = payload.get("hub_key")
        if hub_key is not None and not is_fingerprint(hub_key):
            raise ProtocolError(
                "invalid_field", "payload.hub_key: must be a fingerprint (SHA256:...)"
            )
        interval = _seconds(payload, "interval", 60)
        return cls(sender, status, metrics, interval, hub_key)


@dataclass(frozen=True, slots=True)
class AiRequest:
    """A question for the conversation agent."""

    text: str
    language: str | None
    conversation_id: str | None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> AiRequest:
        """Validate."""
        return cls(
            required_text(payload, "text", longest=10_000, lines=True),
            optional_text(payload, "language", longest=64),
            optional_text(payload, "conversation_id", longest=128),
        )


@dataclass(frozen=True, slots=True)
class TtsRequest:
    """Text to speak."""

    text: str
    voice: str | None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> TtsRequest:
        """Validate."""
        return cls(
            required_text(payload, "text", longest=100_000, lines=True),
            optional_text(payload, "voice", longest=128),
        )


def _audio(payload: dict[str, Any]) -> dict[str, Any]:
    if "audio" not in payload:
        raise ProtocolError("missing_field", "payload.audio is required")
    audio = payload["audio"]
    if (
        not isinstance(audio, dict)
        or audio.get("format") != "wav"
        or not isinstance(audio.get("data"), str)
    ):
        raise ProtocolError(
            "bad_audio",
            'payload.audio: must be {"format": "wav", "data": "<base64 WAV>"}',
        )
    return audio


@dataclass(frozen=True, slots=True)
class SttRequest:
    """Audio to transcribe (decoded by the voice side: audio.decode_audio)."""

    audio: dict[str, Any]
    language: str | None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> SttRequest:
        """Validate the shape; the audio's content is checked where it is decoded."""
        return cls(_audio(payload), optional_text(payload, "language", longest=64))


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """A spoken command: transcribe, answer, and maybe speak the answer."""

    audio: dict[str, Any]
    language: str | None
    conversation_id: str | None
    audio_reply: bool

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> RouteRequest:
        """Validate."""
        audio_reply = payload.get("audio_reply", False)
        if not isinstance(audio_reply, bool):
            raise ProtocolError(
                "invalid_field", "payload.audio_reply: must be true or false"
            )
        return cls(
            _audio(payload),
            optional_text(payload, "language", longest=64),
            optional_text(payload, "conversation_id", longest=128),
            audio_reply,
        )


@dataclass(frozen=True, slots=True)
class Analytics:
    """A line for HA's logbook: what happened (a name), what to show, and the rest as data."""

    event: str
    message: str | None
    data: dict[str, Any]

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> Analytics:
        """Validate: `event` required (64 characters at most), `message` optional (255)."""
        return cls(
            required_text(payload, "event", longest=64),
            optional_text(payload, "message", longest=255),
            {k: v for k, v in payload.items() if k not in ("event", "message")},
        )


type Payload = (
    Registration | Unregister | Heartbeat | AiRequest | TtsRequest | SttRequest
    | RouteRequest | Vocabulary | Analytics | Report | Telemetry | Status | SatelliteRun
    | SatelliteAudio | SatellitePlayed | SatelliteEvent
)  # fmt: skip

MODELS: dict[Kind, Any] = {
    Kind.REGISTER: Registration,
    Kind.UNREGISTER: Unregister,
    Kind.HEARTBEAT: Heartbeat,
    Kind.AI_REQUEST: AiRequest,
    Kind.TTS_REQUEST: TtsRequest,
    Kind.STT_REQUEST: SttRequest,
    Kind.ROUTE: RouteRequest,
    Kind.VOCABULARY: Vocabulary,
    Kind.ANALYTICS: Analytics,
    Kind.TELEMETRY: Telemetry,
    Kind.DATA: Report,
    Kind.STATUS: Status,
    Kind.SATELLITE_RUN: SatelliteRun,
    Kind.SATELLITE_AUDIO: SatelliteAudio,
    Kind.SATELLITE_PLAYED: SatellitePlayed,
    Kind.SATELLITE_EVENT: SatelliteEvent,
}


def parse_payload(kind: Kind | None, payload: dict[str, Any]) -> Payload | None:
    """The typed model of a kind's payload (None for kinds without a schema).

    Every refusal is a ProtocolError: an arithmetic or value error a check missed
    (a number past a float's range) is one too, never a traceback in the reader.
    """
    model = MODELS.get(kind) if kind is not None else None
    if model is None:
        return None
    try:
        parsed: Payload = model.parse(payload)
    except ProtocolError:
        raise
    except (ArithmeticError, ValueError) as err:
        raise ProtocolError(
            "invalid_field", f"payload: a value out of range ({type(err).__name__})"
        ) from err
    return parsed
