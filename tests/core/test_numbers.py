"""Numbers a sender chose: refused as invalid_field past ±2**53 or non-finite, never an OverflowError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alicia_bus import payloads
from alicia_bus.envelope import new_message, parse
from alicia_bus.errors import ProtocolError
from alicia_bus.numbers import MAX_NUMBER, number
from alicia_bus.reported import Report
from alicia_bus.speaker import AnnounceRequest, PlaybackCommand
from alicia_bus.topics import Kind

HUGE = int("9" * 400)


def sent(topic: str, payload: dict[str, Any]) -> bytes:
    return json.dumps(new_message("kitchen_sensor", "event", payload)).encode()


@pytest.mark.parametrize(
    "value", [HUGE, -HUGE, MAX_NUMBER + 1, float("inf"), float("nan"), True, "1"]
)
def test_the_one_check_refuses_what_no_reader_holds(value: Any) -> None:
    with pytest.raises(ProtocolError, match=r"^payload\.x: must be") as error:
        number(value, "payload.x")
    assert error.value.code == "invalid_field"


def test_the_one_check_keeps_the_bounds_exactly() -> None:
    assert number(MAX_NUMBER, "x") == MAX_NUMBER
    assert number(3, "x", integer=True) == 3
    with pytest.raises(ProtocolError, match="an integer"):
        number(3.5, "x", integer=True)


@pytest.mark.parametrize("metric", [HUGE, float("inf"), float("nan")])
def test_a_heartbeats_huge_metric_is_a_protocol_error(metric: Any) -> None:
    """A 400-digit metric crashed math.isfinite (OverflowError, a traceback per message)."""
    payload = {
        "device_id": "kitchen_sensor",
        "status": "healthy",
        "metrics": {"cpu": metric},
    }
    with pytest.raises(ProtocolError, match=r"payload\.metrics\[\"cpu\"\]") as error:
        parse("alicia/system/health/heartbeat", sent("", payload))
    assert error.value.code == "invalid_field"
    assert error.value.envelope is not None  # answered to its sender, bounded


@pytest.mark.parametrize("volume", [HUGE, -HUGE, float("nan")])
def test_a_huge_volume_is_refused_or_ignored(volume: Any) -> None:
    """A playback command refuses it; an announcement plays at the player's own volume."""
    url = "http://192.0.2.10/a.mp3"
    command = {"capability": "audio_playback", "action": "play_media",
               "params": {"url": url, "volume": volume}}  # fmt: skip
    with pytest.raises(ProtocolError, match=r"params\.volume"):
        PlaybackCommand.parse(command)
    assert AnnounceRequest.parse({"media_url": url, "volume": volume}).volume is None


def test_a_stray_overflow_in_a_model_is_still_a_protocol_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever a check misses becomes a bounded refusal, not a traceback in the reader."""

    class Broken:
        @classmethod
        def parse(cls, payload: dict[str, Any]) -> None:
            float(payload["values"]["x"])

    monkeypatch.setitem(payloads.MODELS, Kind.DATA, Broken)
    with pytest.raises(ProtocolError) as error:
        parse("alicia/devices/kitchen_sensor/data", sent("", {"values": {"x": HUGE}}))
    assert error.value.code == "invalid_field"
    assert "OverflowError" in str(error.value)
    assert str(HUGE)[:20] not in str(error.value)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"temperature": HUGE, "humidity": 40}, "payload.values.temperature"),
        ({"light": {"brightness": float("inf")}}, 'payload.values.light."brightness"'),
        ({"light": {"rgb_color": [1, 2, -HUGE]}}, 'light."rgb_color"[2]'),
        ({"note": "x" * 2049}, "payload.values.note"),
        ({"note": "a\x1b[2Jb"}, "control character"),
        ({"": 1}, "a key"),
    ],
)
def test_a_reports_bad_value_refuses_the_report(
    values: dict[str, Any], named: str
) -> None:
    """As a flood of keys does: the whole report, naming the value."""
    with pytest.raises(ProtocolError) as error:
        Report.parse({"values": values})
    assert error.value.code == "invalid_field"
    assert named in str(error.value)
