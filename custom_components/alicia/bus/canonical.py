"""RFC 8785 (JSON Canonicalization Scheme): the exact bytes a signature covers."""

from __future__ import annotations

from decimal import Decimal
import json
import math
from typing import Any


def canonical(value: Any) -> bytes:
    """The RFC 8785 form of a JSON value, as UTF-8; ValueError if it has none."""
    out: list[str] = []
    _write(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError("a lone surrogate is not text") from err


def _write(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append(json.dumps(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int | float):
        out.append(number(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        # Members sorted by their names' UTF-16 code units (RFC 8785 §3.2.3).
        for index, key in enumerate(sorted(value, key=_utf16)):
            if not isinstance(key, str):
                raise TypeError(f"a JSON member name must be text, not {key!r}")
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False) + ":")
            _write(value[key], out)
        out.append("}")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON")


def _utf16(key: Any) -> bytes:
    return str(key).encode("utf-16-be", "surrogatepass")


def number(value: float) -> str:
    """A JSON number as ECMAScript's Number.prototype.toString writes it (§3.2.2.3).

    Every JSON number is an IEEE 754 double there: an integer beyond 2**53 is
    rounded to the nearest double first, as a JavaScript receiver would read it.
    """
    try:
        double = float(value)
    except OverflowError as err:
        raise ValueError(f"{value} is beyond a double's range") from err
    if not math.isfinite(double):
        raise ValueError("NaN and infinity are not JSON")
    if double == 0:
        return "0"  # -0 too
    # repr() gives the shortest digits that round-trip; ES only lays them out differently.
    _, digit_tuple, exponent = Decimal(repr(abs(double))).as_tuple()
    assert isinstance(exponent, int)
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    point = exponent + len(all_digits)  # where the decimal point goes, from the left
    length = len(digits)
    if length <= point <= 21:
        text = digits + "0" * (point - length)
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        mantissa = digits[0] + (f".{digits[1:]}" if length > 1 else "")
        power = point - 1
        text = f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"
    return ("-" if double < 0 else "") + text
