"""The vocabulary payload: ranked phrases and what the home's command sentences may name."""

from __future__ import annotations

from typing import Any

import pytest

from alicia_bus.errors import ProtocolError
from alicia_bus.vocabulary import MAX_PHRASES, Vocabulary


def test_a_vocabulary_reads_back_as_built() -> None:
    built = Vocabulary(
        ("Kitchen", "Zoë's lamp"), (("Zoë's lamp", "light"),), ("Kitchen",), ("Ground",)
    )
    assert Vocabulary.parse(built.to_payload()) == built


def test_phrases_alone_are_still_a_vocabulary() -> None:
    assert Vocabulary.parse({"phrases": ["Kitchen"]}) == Vocabulary(("Kitchen",))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "payload.phrases"),
        ({"phrases": "Kitchen"}, "payload.phrases"),
        ({"phrases": [], "entities": [["lamp"]]}, "payload.entities[0]"),
        ({"phrases": [], "entities": [["lamp", "Light!"]]}, "payload.entities[0][1]"),
        ({"phrases": [], "entities": [["\x00", "light"]]}, "payload.entities[0][0]"),
        ({"phrases": [], "areas": ["x"] * (MAX_PHRASES + 1)}, "payload.areas"),
        ({"phrases": [], "floors": [1]}, "payload.floors[0]"),
    ],
)
def test_a_wrong_field_is_named(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        Vocabulary.parse(payload)
    assert field in str(refused.value)
