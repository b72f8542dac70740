"""Settings' values as they come in (text, JSON) made typed, their ranges, and a URL as it may be shown."""

from __future__ import annotations

from collections.abc import Mapping
import json
import math
from pathlib import Path
import types
from typing import Any, Union, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


# Each number's range: (lowest, highest, whether the lowest itself may be given).
# The highest are far past any real use, and short of what would exhaust memory or
# overflow a timer: the add-on's config.yaml offers ranges inside these.
LIMITS: dict[str, tuple[float, float, bool]] = {
    "max_connections": (1, 4096, True), "idle_seconds": (0, 86400, False),
    "frame_seconds": (0, 3600, False), "session_seconds": (0, 3600, False),
    "write_seconds": (0, 3600, False), "wyoming_lan_port": (0, 65535, True),
    "stt_beam_size": (1, 10, True), "stt_cpu_threads": (0, 256, True),
    "stt_workers": (0, 64, True), "stt_max_seconds": (0, 600, False),
    "tts_speaker": (0, 9999, True), "tts_length_scale": (0, 10, False),
    "tts_noise_scale": (0, 10, True), "tts_noise_w_scale": (0, 10, True),
    "tts_sentence_silence": (0, 10, True), "tts_max_chars": (0, 1_000_000, False),
    "tts_workers": (1, 64, True), "wyoming_untrusted_questions": (0, 600, True),
    "grok_timeout": (0, 600, False), "grok_retries": (0, 10, True),
    "grok_max_tokens": (0, 1_000_000, False), "grok_max_turns": (0, 1000, True),
    "grok_memory_seconds": (0, 7 * 86400, True),
    "grok_max_conversations": (1, 100_000, True),
    "bridge_heartbeat_interval": (1, 3600, True), "bridge_max_concurrent": (1, 64, True),
    "rate_limit": (0, 1_000_000, False), "rate_burst": (1, 1_000_000, True),
}  # fmt: skip


def check_numbers(values: Mapping[str, Any]) -> None:
    """Refuse a number that is not finite or outside its range, naming the setting."""
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"{name} must be a finite number, not {value!r}")
    for name, (low, high, closed) in LIMITS.items():
        value = values[name]
        if closed and value < low:
            raise SettingsError(
                f"{name} must be {'0 or more' if low == 0 else f'at least {low:g}'}"
            )
        if not closed and value <= low:
            raise SettingsError(f"{name} must be positive")
        if value > high:
            raise SettingsError(f"{name} must be at most {high:g}, not {value!r}")


def shown_url(url: str) -> str:
    """The URL as shown and logged: scheme://host[:port]/path, without its user, query or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a bracketed host left open, say
        return "(not a URL)"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def read_options_file(path: Path, known: set[str]) -> dict[str, Any]:
    """Read an add-on style options.json; empty values mean 'use the default'."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SettingsError(f"cannot read options file {path}: {err}") from err
    if not isinstance(data, dict):
        raise SettingsError(f"options file {path} must hold a JSON object")
    return {k: v for k, v in data.items() if k in known and v is not None}


def convert(name: str, kind: Any, value: Any) -> Any:
    """A raw value (text from the environment, JSON from the options file) as the setting's type."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
        origin = get_origin(kind)
    try:
        if origin is tuple:
            if isinstance(value, str):
                value = [part.strip() for part in value.split(",")]
            return tuple(str(part) for part in value if str(part).strip())
        if kind is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in {"1", "true", "yes", "on"}:
                    return True
                if lowered in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(value)
            return bool(value)
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError) as err:
        raise SettingsError(
            f"{name}: {value!r} is not a valid {_type_name(kind)}"
        ) from err


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))
