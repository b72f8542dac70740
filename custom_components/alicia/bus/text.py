"""Checks for text that reaches storage, logs and UIs: no lone surrogates, control or invisible characters."""

from __future__ import annotations

from typing import Any
import unicodedata

from .errors import ProtocolError

# What excerpt() shows of a value a sender chose, by default.
EXCERPT = 64


def clean_text(
    value: Any, path: str, *, longest: int, shortest: int = 0, lines: bool = False
) -> str:
    """Value as text of shortest..longest characters, or ProtocolError('invalid_field').

    A lone surrogate cannot be stored as UTF-8 (it broke HA's saves); control
    characters have no place in names. lines=True allows tab and newline (messages).
    """
    if not isinstance(value, str) or not shortest <= len(value) <= longest:
        raise ProtocolError(
            "invalid_field",
            f"{path}: must be text of {shortest} to {longest} characters",
        )
    allowed = "\t\n" if lines else ""
    for char in value:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise ProtocolError("invalid_field", f"{path}: contains a lone surrogate")
        if (code < 0x20 or 0x7F <= code < 0xA0) and char not in allowed:
            raise ProtocolError(
                "invalid_field", f"{path}: contains a control character ({code:#04x})"
            )
        # A name is compared by eye (the approval card): no format character may be
        # in it, invisible (zero-width spaces, joiners) or turning the text around
        # ("Kitchen \u202ekcol rood\u202c" shows a name it is not).
        if not lines and unicodedata.category(char) == "Cf":
            raise ProtocolError(
                "invalid_field",
                f"{path}: contains an invisible character ({code:#06x})",
            )
    return value


def optional_text(
    payload: dict[str, Any], name: str, *, longest: int, lines: bool = False
) -> str | None:
    """payload[name] as clean text, None when absent or null."""
    value = payload.get(name)
    if value is None:
        return None
    return clean_text(value, f"payload.{name}", longest=longest, lines=lines)


def required_text(
    payload: dict[str, Any], name: str, *, longest: int, lines: bool = False
) -> str:
    """payload[name] as clean, non-blank text; missing_field when absent."""
    if name not in payload:
        raise ProtocolError("missing_field", f"payload.{name} is required")
    value = clean_text(
        payload[name], f"payload.{name}", longest=longest, shortest=1, lines=lines
    )
    if not value.strip():
        raise ProtocolError("invalid_field", f"payload.{name}: must not be blank")
    return value


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether JSON text nests arrays and objects more than limit deep, without parsing it.

    Most messages (audio is base64, without brackets) have fewer openers than the
    limit: counted in C, they need no scan in Python.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A sender's value to quote in an error or log: text quoted, escaped, cut to limit."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int | float):
        # A huge integer has no short form (and no str() past 4300 digits).
        short = isinstance(value, float) or value.bit_length() < 64
        return repr(value)[:limit] if short else "a long number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if not isinstance(value, str):
        return "a value"
    shown: list[str] = []
    size = 0
    for char in value:
        if char in '\\"':
            piece = "\\" + char
        elif char.isprintable():
            piece = char
        else:
            code = ord(char)
            piece = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        if size + len(piece) > limit:
            return '"' + "".join(shown) + '"…'
        shown.append(piece)
        size += len(piece)
    return '"' + "".join(shown) + '"'


def plain(value: str, longest: int) -> str:
    """Text cut to `longest` characters, each unprintable one (controls, bidi, tags) a space."""
    return "".join(c if c.isprintable() else " " for c in value[:longest])
