"""RFC 8785 canonical JSON, against the RFC's own number examples (Appendix B)."""

from __future__ import annotations

import struct

import pytest

from alicia_bus.canonical import canonical, number

# (IEEE 754 bits, ECMAScript's text): RFC 8785, Appendix B.
RFC_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), RFC_NUMBERS)
def test_rfc_number_examples(bits: str, text: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert number(value) == text


def test_integers_are_numbers_as_a_javascript_receiver_reads_them() -> None:
    # 2**53 + 1 has no double: JavaScript reads 9007199254740992.
    assert canonical([2**53 + 1, 123456789012345678901234567890, 10**21]) == (
        b"[9007199254740992,1.2345678901234568e+29,1e+21]"
    )
    assert canonical(-(2**53)) == b"-9007199254740992"


def test_the_rfc_object_example_orders_members_by_utf16() -> None:
    value = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew",
             "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control",
             "\u00f6": "Latin Small Letter O With Diaeresis"}  # fmt: skip
    keys = canonical(value).decode().split('"')[1::4]
    assert keys == ["\\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 10**400, "\ud800"])
def test_what_has_no_canonical_form_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        canonical({"x": bad})
