"""Fuzzing what the bridge keeps of HA's states: any payload, in any order, stays bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings, strategies as st

from alicia_bus.errors import ProtocolError
from alicia_bus.home import HaState
from wyoming_services.bridge.home import HomeState

from .any_json import json_values, texts

entity_ids = st.sampled_from(
    ["light.kitchen", "sensor.t", "lock.front", "x", "light.K"]
)
state_payloads = st.fixed_dictionaries(
    {"entity_id": entity_ids, "state": st.one_of(texts, json_values)},
    optional={
        "area": st.one_of(texts, json_values), "attributes": json_values,
        "last_changed": st.one_of(texts, json_values), "removed": json_values,
        "device": st.sampled_from(["panel", "hall_light", None, 3, "Évil"]),
    },
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(entity_ids, state_payloads, st.integers(-5, 5)), max_size=30))
def test_any_states_in_any_order_leave_a_bounded_consistent_table(
    updates: list[tuple[str, dict[str, Any], int]],
) -> None:
    home = HomeState(limit=4, per_device=2)
    start = datetime.now(UTC)
    for entity_id, payload, offset in updates:
        try:
            published = HaState.parse(payload)
            home.update(entity_id, published, start + timedelta(seconds=offset))
        except ProtocolError:
            continue  # refused with the contract's own error, nothing else
        assert len(home) <= 4
