"""excerpt() and plain(): what either end shows of text it did not write."""

from __future__ import annotations

from typing import Any

import pytest

from alicia_bus.text import excerpt, plain


def test_text_is_cut_to_the_limit() -> None:
    shown = excerpt("A" * 4_000_000, limit=10)
    assert shown == '"' + "A" * 10 + '"…'


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("kitchen", '"kitchen"'),
        ('say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'),
        ("line\nbreak\x1b[31m", '"line\\u000abreak\\u001b[31m"'),
        ("\u202eevil", '"\\u202eevil"'),
        ("lone \ud800", '"lone \\ud800"'),
        ("tag \U000e0041", '"tag \\U000e0041"'),
        ("Zoë ☀", '"Zoë ☀"'),
    ],
)
def test_unprintable_characters_are_escaped(value: str, shown: str) -> None:
    assert excerpt(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2, "2"),
        (1.5, "1.5"),
        (True, "true"),
        (None, "null"),
        (10**1000, "a long number"),
        ([1] * 100_000, "a list"),
        ({"a": "b" * 100_000}, "an object"),
        (object(), "a value"),
    ],
)
def test_other_values_are_shown_short(value: Any, shown: str) -> None:
    assert excerpt(value) == shown


def test_an_escape_is_never_cut_in_half() -> None:
    shown = excerpt("ab\x00", limit=5)
    assert shown == '"ab"…'


def test_plain_text_keeps_what_prints_and_is_cut() -> None:
    hostile = "Lamp\x1b[2J\nrun\u202e\U000e0041\ud800" + "z" * 500
    assert plain(hostile, 20) == "Lamp [2J run   zzzzz"
    assert plain("Zoë's lamp ☀", 128) == "Zoë's lamp ☀"
