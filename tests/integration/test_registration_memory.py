"""What approval remembers stays bounded and survives a restart; a reserved id left from before gets no ACL."""

from __future__ import annotations

from datetime import UTC, datetime
import json

import pytest

from custom_components.alicia import registration_memory
from custom_components.alicia.acl import mosquitto_acl
from custom_components.alicia.device import DeviceRecord
from custom_components.alicia.registration_memory import Tombstones
from custom_components.alicia.storage import Remembered


def record(device_id: str) -> DeviceRecord:
    return DeviceRecord.from_document(
        {
            "device_id": device_id,
            "device_type": "sensor",
            "capabilities": [{"name": "temperature"}],
        }
    )


def test_tombstones_keep_the_newest_and_load_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flood of devices leaving keeps the newest few; what is stored comes back the same."""
    monkeypatch.setattr(registration_memory, "MAX_TOMBSTONES", 2)
    tombstones = Tombstones()
    for device_id in ("a", "b", "c"):
        tombstones.left(record(device_id))
    assert [r.device_id for r in tombstones.stored()] == ["b", "c"]
    again = Tombstones()
    again.load(tombstones.stored())
    grant = again.get("c")
    assert grant is not None
    assert [c.name for c in grant.capabilities] == ["temperature"]
    assert again.get("a") is None


def test_a_reserved_id_left_from_before_gets_no_rules() -> None:
    """A device stored as 'speakers' before ids were reserved reads nobody's announcements."""
    text = mosquitto_acl(
        "alicia", [("speakers", "speaker", None), ("lamp", "actuator", None)]
    )
    assert "user speakers" not in text
    assert "# speakers: a reserved id, given no rules" in text
    assert "user lamp" in text


def test_what_is_remembered_reads_back_as_written() -> None:
    """The newest times, tombstones and statuses come back from the store's document unchanged."""
    sent = datetime(2026, 12, 6, 1, 2, 3, 4000, tzinfo=UTC)
    remembered = Remembered(
        sent={"a": (sent, "key-a")},
        tombstones=[record("b")],
        status={"a": (sent, "session-1"), "c": (sent, None)},
    )
    again = Remembered.from_document(json.loads(json.dumps(remembered.document)))
    assert again.sent == remembered.sent
    assert again.status == remembered.status
    assert [r.document for r in again.tombstones] == [record("b").document]
