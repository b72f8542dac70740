"""Settings' values as they come in (text, JSON) made typed, and a URL as it may be shown."""

from __future__ import annotations

import json
from pathlib import Path
import types
from typing import Any, Union, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


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
