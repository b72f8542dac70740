"""The voice route: a voice server is a service, and its result is text of bounded length."""

from __future__ import annotations

from typing import Any

import pytest

from alicia_bus.answers import RouteAnswer, RouteTimings
from alicia_bus.errors import ProtocolError
from alicia_bus.voice_route import (
    MAX_ANSWER,
    MAX_TRANSCRIPT,
    VoiceResult,
    is_voice_server,
)


@pytest.mark.parametrize(
    ("device_type", "capabilities", "serves"),
    [
        ("service", ["stt", "tts", "ai"], True),  # the app's bridge
        ("service", ["stt"], False),
        ("sensor", ["temperature", "stt", "ai"], False),
        ("actuator", ["stt", "ai"], False),
        ("speaker", ["stt", "ai"], False),
        ("controller", ["stt", "ai"], False),
    ],
)
def test_only_a_service_serves_the_voice_route(
    device_type: str, capabilities: list[str], serves: bool
) -> None:
    assert is_voice_server(device_type, capabilities) is serves


def test_the_bridges_answers_are_voice_results() -> None:
    timings = RouteTimings(stt_ms=120.0, total_ms=900.0, ai_ms=700.0)
    heard = RouteAnswer("Good night", "Sleep well.", "en", timings, "a1")
    assert VoiceResult.parse(heard.to_payload()) == VoiceResult(
        "Good night", "Sleep well.", "en"
    )
    nothing = RouteAnswer("", "", "en", RouteTimings(80.0, 80.0))
    assert VoiceResult.parse(nothing.to_payload()) == VoiceResult("", "", "en")
    longest = {"transcript": "t" * MAX_TRANSCRIPT, "answer": "a\n" * (MAX_ANSWER // 2)}
    assert VoiceResult.parse(longest).language is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"transcript": {"nested": ["not", "text"]}}, "payload.transcript"),
        ({"transcript": ["Good night"]}, "payload.transcript"),
        ({"transcript": None}, "payload.transcript"),
        ({"transcript": "t" * (MAX_TRANSCRIPT + 1)}, "payload.transcript"),
        ({"transcript": "Good\x00night"}, "payload.transcript"),
        ({"transcript": "x", "answer": "x" * 60_000}, "payload.answer"),
        ({"transcript": "x", "answer": 42}, "payload.answer"),
        ({"transcript": "x", "answer": "\ud800"}, "payload.answer"),
        ({"transcript": "x", "language": ["??"]}, "payload.language"),
        ({"transcript": "x", "language": "e\u200bn"}, "payload.language"),
        ({"transcript": "x", "language": "e" * 65}, "payload.language"),
    ],
)
def test_a_result_not_of_bounded_text_is_refused_by_name(
    payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        VoiceResult.parse(payload)
    assert error.value.code == "invalid_field"
    assert str(error.value).startswith(field)
