"""Names that reach HA's storage and UI: lone surrogates, control and invisible characters are refused."""

from __future__ import annotations

import json

import pytest

from alicia_bus.envelope import Echo, echo, new_message, parse
from alicia_bus.errors import ProtocolError
from alicia_bus.text import nested_deeper_than

TOPIC = "alicia/system/discovery/register/lamp"


def registration(**changes: object) -> bytes:
    document = {
        "device_id": "lamp",
        "device_type": "actuator",
        "capabilities": ["light"],
    }
    return json.dumps(new_message("lamp", "event", document | changes)).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Lamp \ud800"},
        {"name": "Lamp\x00"},
        {"name": "Lamp\x1b[31m"},
        {"capabilities": ["li\ud83dght"]},
        {"metadata": {"manufacturer": "Acme\u0085"}},
        {"name": "x" * 129},
        {"name": "Kitchen \u202ekcol rood\u202c sensor"},
        {"capabilities": ["tem\u200bperature"]},
        {"metadata": {"model": "TH\u20601"}},
    ],
)
def test_bad_names_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ProtocolError) as error:
        parse(TOPIC, registration(**changes))
    assert error.value.code == "invalid_field"


def test_good_names_pass() -> None:
    body = parse(TOPIC, registration(name="Zoë's lamp ☀")).body
    assert body is not None


def test_deep_nesting_is_refused_before_parsing() -> None:
    raw = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    with pytest.raises(ProtocolError) as error:
        parse("alicia/devices/lamp/data", raw)
    assert error.value.code in ("malformed_json", "too_large")
    deep = b'{"a":' * 40 + b"1" + b"}" * 40
    with pytest.raises(ProtocolError) as error:
        parse("alicia/devices/lamp/data", deep)
    assert error.value.code == "malformed_json"


def test_only_clean_valid_fields_are_echoed_to_a_sender() -> None:
    hostile = {
        "source": "lamp",
        "message_id": "\ud800",
        "reply_to": "alicia/devices/lamp/replies/\udfff",
    }
    assert echo(hostile) == Echo("lamp", None, "unknown")
    elsewhere = {
        "source": "lamp",
        "message_id": "m1",
        "reply_to": "alicia/devices/door/cmd",
    }
    assert echo(elsewhere) == Echo("lamp", None, "m1")
    fine = {
        "source": "lamp",
        "message_id": "m1",
        "reply_to": "alicia/devices/lamp/replies/voice",
    }
    assert echo(fine) == Echo("lamp", "alicia/devices/lamp/replies/voice", "m1")
    assert echo(None) == Echo(None, None, "unknown")


def test_brackets_in_strings_do_not_count_as_nesting() -> None:
    # Many brackets, all inside strings (one with an escaped quote): shallow JSON.
    shallow = json.dumps({"note": '[{"\\"' * 50, "list": [[1], [2]]})
    assert not nested_deeper_than(shallow, 32)
    assert nested_deeper_than("[" * 33 + "]" * 33, 32)
