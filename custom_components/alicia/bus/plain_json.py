"""The one walk of a JSON value a sender or a user chose: plain JSON, within bounds."""

from __future__ import annotations

import json
from typing import Any

from .errors import ProtocolError
from .numbers import number
from .text import clean_text, excerpt

# Objects and arrays within objects and arrays: as deep as a message may nest (envelope.py).
MAX_NESTING = 32
NUMBERS = "a finite number within ±2**53"


def check_json(
    value: Any,
    path: str,
    *,
    longest: int | None,
    deepest: int | None = MAX_NESTING,
    longest_text: int | None = None,
    number_rule: str = NUMBERS,
    member_path: str = "[{}]",
    strict: bool = True,
) -> None:
    """Value as plain JSON within the bounds given (None: none), else ProtocolError('invalid_field') at its first bad part."""

    def walk(item: Any, where: str, depth: int) -> None:
        if isinstance(item, dict | list) and deepest is not None and depth > deepest:
            raise ProtocolError(
                "invalid_field", f"{where}: nested deeper than {deepest} levels"
            )
        if isinstance(item, dict):
            if strict and not all(isinstance(key, str) for key in item):
                raise ProtocolError("invalid_field", f"{where}: names must be text")
            for key, inner in item.items():
                walk(inner, where + member_path.format(excerpt(key)), depth + 1)
        elif isinstance(item, list):
            for index, inner in enumerate(item):
                walk(inner, f"{where}[{index}]", depth + 1)
        elif isinstance(item, str):
            if longest_text is not None:
                clean_text(item, where, longest=longest_text, lines=True)
            elif not item.isascii() and any(0xD800 <= ord(c) <= 0xDFFF for c in item):
                raise ProtocolError(
                    "invalid_field", f"{where}: contains a lone surrogate"
                )
        elif isinstance(item, int | float) and not isinstance(item, bool):
            number(item, where, what=number_rule)
        elif strict and item is not None and not isinstance(item, bool):
            raise ProtocolError(
                "invalid_field", f"{where}: {type(item).__name__} is not JSON"
            )

    walk(value, path, 1)
    if longest is not None and len(json.dumps(value)) > longest:
        raise ProtocolError(
            "invalid_field", f"{path}: must be at most {longest} characters as JSON"
        )
