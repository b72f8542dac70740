"""Loading the shared protocol vectors (tests/protocol_vectors) as bytes on a topic."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parent / "protocol_vectors"


@dataclass(frozen=True)
class Vector:
    name: str
    topic: str
    raw: bytes
    expect: str


def load(path: Path) -> Vector:
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "raw_base64" in spec:
        raw = base64.b64decode(spec["raw_base64"])
    elif "raw" in spec:
        raw = spec["raw"].encode()
    else:
        message = spec["message"]
        raw = json.dumps(message).encode()
        if (size := spec.get("pad_payload_to_bytes")) is not None:
            message["payload"]["padding"] = "x" * max(0, size - len(raw))
            raw = json.dumps(message).encode()
    return Vector(path.stem, spec["topic"], raw, spec["expect"])


def all_vectors() -> list[Vector]:
    return [load(path) for path in sorted(VECTORS.glob("*.json"))]


SECURITY = VECTORS / "security"


@dataclass(frozen=True)
class SecurityVector:
    name: str
    topic: str
    mode: str
    trusted_key: str | None
    now: datetime
    retained: bool
    repeat: bool
    message: dict[str, Any]
    expect: str
    to_sign: str | None


def security_vectors() -> list[SecurityVector]:
    """The signed, tampered and replayed messages, and what each receiver must decide."""
    vectors = []
    for path in sorted(SECURITY.glob("*.json")):
        if path.stem.startswith("canonical_"):
            continue
        spec = json.loads(path.read_text(encoding="utf-8"))
        vectors.append(
            SecurityVector(
                path.stem,
                spec["topic"],
                spec["mode"],
                spec["trusted_key"],
                datetime.fromisoformat(spec["now"]),
                spec["retained"],
                spec["repeat"],
                spec["message"],
                spec["expect"],
                spec.get("to_sign"),
            )
        )
    return vectors


def canonical_vectors() -> list[tuple[str, Any, bytes]]:
    """(name, JSON value, its RFC 8785 bytes)."""
    return [
        (path.stem, spec["value"], spec["canonical"].encode())
        for path in sorted(SECURITY.glob("canonical_*.json"))
        for spec in [json.loads(path.read_text(encoding="utf-8"))]
    ]
