"""Every text in strings.json reads as ICU MessageFormat, as HA's frontend reads it."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re

import pytest

from custom_components.alicia.event import DESCRIPTIONS

STRINGS = Path(__file__).parents[2] / "custom_components/alicia/strings.json"
PLACEHOLDER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def texts(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from texts(value, f"{path}.{key}" if path else key)
    elif isinstance(node, str):
        yield path, node


def icu_problem(text: str) -> str | None:
    """Why ICU would not read text (braces outside quotes must be {simple_name}), or None."""
    i, quoted = 0, False
    while i < len(text):
        char = text[i]
        if char == "'" and text[i + 1 : i + 2] == "'":
            i += 2
            continue
        if char == "'" and (quoted or text[i + 1 : i + 2] in ("{", "}")):
            quoted = not quoted
        elif not quoted and char == "}":
            return f"a lone }} at {i}"
        elif not quoted and char == "{":
            end = text.find("}", i)
            if end < 0 or not PLACEHOLDER.fullmatch(text[i + 1 : end]):
                return f"{text[i : i + 20]!r} is no placeholder"
            i = end
        i += 1
    return "an unclosed quote" if quoted else None


@pytest.mark.parametrize(
    ("text", "ok"),
    [("Hi {name}", True), ('for example {"a": 1}', False), ("a } b", False),
     ("for example '{\"a\": 1}'", True), ("Alicia's {name}", True)],
)  # fmt: skip
def test_the_check_tells_icu_from_not(text: str, ok: bool) -> None:
    assert (icu_problem(text) is None) is ok


def test_every_string_is_icu() -> None:
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    problems = {path: p for path, text in texts(strings) if (p := icu_problem(text))}
    assert problems == {}


def test_every_event_type_an_event_row_offers_has_words() -> None:
    events = json.loads(STRINGS.read_text())["entity"]["event"]
    for row in DESCRIPTIONS:
        assert row.translation_key is not None
        states = events[row.translation_key]["state_attributes"]["event_type"]["state"]
        assert set(row.event_types or ()) <= set(states), row.key
