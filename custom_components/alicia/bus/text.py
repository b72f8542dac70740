"""Checks for text that reaches storage, logs and UIs: no lone surrogates, control or invisible characters."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any
import unicodedata

from .errors import ProtocolError

# What excerpt() shows of a value a sender chose, by default.
EXCERPT = 64
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt; Python has no
# such property), first and last of each range: what shows nothing by default.
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip
_IGNORABLE_STARTS = tuple(first for first, _ in _IGNORABLE)
BRAILLE_BLANK = "\u2800"
# Text or emoji presentation of the character before (VS15, VS16): "❄️" is a common name.
PRESENTATION = frozenset("\ufe0e\ufe0f")
# Emoji that are not symbols (So, Sm, ...) but take a presentation selector too.
EMOJI_NOT_SYMBOLS = frozenset("\u203c\u2049\u2139\u3030\u303d")
KEYCAP = "\u20e3"


def clean_text(
    value: Any, path: str, *, longest: int, shortest: int = 0, lines: bool = False
) -> str:
    """Value as text of shortest..longest characters, or ProtocolError('invalid_field').

    A lone surrogate cannot be stored as UTF-8 (it broke HA's saves); control
    characters have no place in names, nor what shows nothing: a blank name, one
    starting with a combining mark. lines=True allows tab and newline (messages),
    and checks only surrogates and controls.
    """
    if not isinstance(value, str) or not shortest <= len(value) <= longest:
        raise ProtocolError(
            "invalid_field",
            f"{path}: must be text of {shortest} to {longest} characters",
        )
    allowed = "\t\n" if lines else ""
    for index, char in enumerate(value):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise ProtocolError("invalid_field", f"{path}: contains a lone surrogate")
        if (code < 0x20 or 0x7F <= code < 0xA0) and char not in allowed:
            raise ProtocolError(
                "invalid_field", f"{path}: contains a control character ({code:#04x})"
            )
        # A name is compared by eye (the approval card): nothing in it may be
        # invisible (zero-width spaces, joiners, fillers, a blank Braille cell), break
        # the line, or turn the text around ("Kitchen \u202ekcol rood\u202c" shows a
        # name it is not).
        if not lines and _unseen(value, index):
            raise ProtocolError(
                "invalid_field",
                f"{path}: contains an invisible character ({code:#06x})",
            )
    if not lines and value:
        # Refused, never rewritten (NFKC, trimmed): a registration is signed as sent.
        if not value.strip():
            raise ProtocolError("invalid_field", f"{path}: must not be blank")
        if unicodedata.category(value[0]).startswith("M"):
            raise ProtocolError(
                "invalid_field", f"{path}: starts with a combining mark"
            )
    return value


def _ignorable(char: str) -> bool:
    code = ord(char)
    index = bisect_right(_IGNORABLE_STARTS, code) - 1
    return index >= 0 and code <= _IGNORABLE[index][1]


def _unseen(value: str, index: int) -> bool:
    """Whether value[index] shows nothing where it is, or breaks or turns the line."""
    char = value[index]
    if char in PRESENTATION and index and _emoji(value, index - 1):
        return False
    return (
        unicodedata.category(char) in ("Cf", "Zl", "Zp")
        or char == BRAILLE_BLANK
        or _ignorable(char)
    )


def _emoji(value: str, index: int) -> bool:
    """Whether value[index] can be an emoji, shown either way by what follows it."""
    char = value[index]
    if char in "#*0123456789":
        return value[index + 2 : index + 3] == KEYCAP  # a keycap: 1️⃣
    return unicodedata.category(char).startswith("S") or char in EMOJI_NOT_SYMBOLS


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
    """Text cut to `longest` characters, each unprintable or ignorable one (controls, bidi, tags, fillers) a space.

    What HA sends the bridge (its vocabulary) is then names clean_text takes.
    """
    return "".join(
        c if c.isprintable() and not _ignorable(c) and c != BRAILLE_BLANK else " "
        for c in value[:longest]
    )
