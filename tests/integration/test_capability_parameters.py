"""A capability's parameters as the integration reads them, also from a document stored long ago."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.alicia.capabilities import Capability, event_types


@pytest.mark.parametrize(
    ("events", "types"),
    [
        (["single", "double", "single"], ["single", "double"]),
        ([], None),
        ("press", None),
        (7, None),
        ([1, 2], None),
        (["", "long"], None),
        (["x" * 65], None),
        (["ok\u202e"], None),
    ],
    ids=[
        "names",
        "empty",
        "text",
        "number",
        "numbers",
        "blank",
        "too-long",
        "format-char",
    ],
)
def test_a_buttons_events_are_a_list_of_names_or_none(
    events: Any, types: list[str] | None
) -> None:
    """Anything but a non-empty list of clean names leaves the default types."""
    assert event_types({"events": events}) == types


@pytest.mark.parametrize(
    ("stored", "parameters"),
    [
        ({"events": ["single"], "unit": "°C"}, {"events": ["single"], "unit": "°C"}),
        ({"events": "press", "unit": "°C"}, {"unit": "°C"}),
        ("AAAA", {}),
        ([1, 2], {}),
        (None, {}),
    ],
    ids=["kept", "odd-events-dropped", "text", "list", "none"],
)
def test_a_stored_documents_odd_parameters_still_load(
    stored: Any, parameters: dict[str, Any]
) -> None:
    """A document stored before registrations were checked loads, its odd parts left out."""
    capability = Capability.from_document({"name": "Button", "parameters": stored})
    assert capability.name == "button"
    assert capability.parameters == parameters
