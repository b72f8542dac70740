"""docs/protocol.md's topic table and the code's (bus/topics.py) name the same topics."""

from __future__ import annotations

from alicia_bus.topics import (
    RESERVED_IDS,
    RETAINED_KINDS,
    SHARED_NAMESPACES,
    Kind,
    kind_of,
)
from tests.doc_topics import documented_topics


def test_every_documented_topic_is_one_the_code_knows() -> None:
    for row in documented_topics():
        assert kind_of(row.concrete()) is not None, row.topic
        if row.response is not None:
            assert kind_of(row.response) is Kind.RESPONSE, row.response


def test_every_topic_the_code_knows_is_documented() -> None:
    documented = {kind_of(row.concrete()) for row in documented_topics()}
    assert documented | {Kind.RESPONSE} == set(Kind)


def test_what_the_docs_retain_is_read_late_by_the_code() -> None:
    """Retained messages arrive late by design: the code exempts their kind from the age check."""
    for row in documented_topics():
        kind = kind_of(row.concrete())
        if row.retained:
            assert kind in RETAINED_KINDS, row.topic


def test_every_fixed_name_under_devices_is_a_reserved_id() -> None:
    """A device owns devices/{its id}/#: named after a shared topic's level it would own that."""
    fixed = {
        row.topic.split("/")[2]
        for row in documented_topics()
        if row.topic.startswith("alicia/devices/")
        and "{" not in row.topic.split("/")[2]
    }
    assert fixed == {"speakers", "sensors"}
    assert fixed == SHARED_NAMESPACES
    assert fixed < RESERVED_IDS
