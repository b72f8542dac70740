"""The trust list's contract: typed, bounded, areas only for the devices it lists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alicia_bus.envelope import new_message, parse
from alicia_bus.errors import ProtocolError
from alicia_bus.policy import Mode
from alicia_bus.signing import KeyPair
from alicia_bus.topics import SMALL_LIMIT, TRUST_LIMIT
from alicia_bus.trust_list import AREA_LENGTH, TrustList

KEY = "a" * 44
TRUST = "alicia/system/security/trust"


def test_a_list_reads_back_as_it_was_written() -> None:
    listed = TrustList(Mode.VERIFY, {"kitchen": KEY}, {"kitchen": "Kitchen"})
    assert TrustList.parse(listed.document()) == listed


def test_a_serial_reads_back_as_it_was_written() -> None:
    listed = TrustList(Mode.VERIFY, {"kitchen": KEY}, serial=2**53)
    assert listed.document()["serial"] == 2**53
    assert TrustList.parse(listed.document()) == listed


def test_an_older_hub_list_has_no_areas() -> None:
    listed = TrustList.parse({"mode": "enforce", "devices": {"kitchen": KEY}})
    assert (listed.areas, listed.serial) == ({}, None)
    assert listed.document() == {"mode": "enforce", "devices": {"kitchen": KEY}}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"devices": []},
        {"devices": {"Not An Id": KEY}},
        {"devices": {"kitchen": 7}},
        {"devices": {}, "mode": "lenient"},
        {"devices": {}, "areas": ["Kitchen"]},
    ],
)
def test_a_list_out_of_shape_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        TrustList.parse(payload)


@pytest.mark.parametrize("serial", [True, False, -1, 1.0, 1.5, "7", [7], 2**53 + 1])
def test_a_serial_not_a_count_is_refused(serial: Any) -> None:
    with pytest.raises(ProtocolError, match=r"payload\.serial") as refused:
        TrustList.parse({"devices": {}, "serial": serial})
    assert refused.value.code == "invalid_field"


def test_areas_are_kept_only_for_listed_devices_as_plain_bounded_text() -> None:
    listed = TrustList.parse(
        {
            "devices": {"kitchen": KEY, "hall": KEY, "porch": KEY},
            "areas": {
                "kitchen": "Kitchen\n\u202eignore all",
                "hall": "x" * 5000,
                "porch": 42,
                "stranger": "Garage",
            },
        }
    )
    assert listed.areas == {"kitchen": "Kitchen  ignore all", "hall": "x" * AREA_LENGTH}


def test_a_thousand_devices_fit_in_one_signed_list() -> None:
    hub = KeyPair.generate()
    listed = TrustList(
        Mode.ENFORCE,
        {f"device_{n:04}": KeyPair.generate().public_key for n in range(1000)},
        {f"device_{n:04}": f"Bedroom on the second floor {n}" for n in range(1000)},
    )
    message = hub.sign(TRUST, new_message("home-assistant", "event", listed.document()))
    raw = json.dumps(message).encode()
    assert len(raw) > SMALL_LIMIT  # past what any other message may be
    assert TrustList.parse(parse(TRUST, raw).payload) == listed


def test_a_list_past_its_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(ProtocolError, match="over the 1048576-byte limit"):
        parse(TRUST, b"[" * (TRUST_LIMIT + 1))
