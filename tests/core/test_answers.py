"""The voice answers and HA's published states carry exactly what docs/protocol.md's table lists."""

from __future__ import annotations

from typing import Any

import pytest

from alicia_bus.answers import (
    AiAnswer,
    RouteAnswer,
    RouteTimings,
    SttAnswer,
    TtsAnswer,
)
from alicia_bus.audio import encode_audio
from alicia_bus.home import HaState
from tests.doc_topics import documented_topics

AUDIO = encode_audio(bytes(320), 16000)
ROUTED = RouteAnswer(
    "lights off", "Done.", "en", RouteTimings(80.0, 900.0, 700.0, 120.0), "m-1", AUDIO
)
BUILT: dict[str, list[dict[str, Any]]] = {
    "alicia/voice/stt/request": [SttAnswer("lights off", "en").to_payload()],
    "alicia/voice/ai/request": [AiAnswer("Done.").to_payload()],
    "alicia/voice/tts/request": [TtsAnswer(AUDIO).to_payload()],
    "alicia/voice/command/route": [
        ROUTED.to_payload(),
        RouteAnswer("", "", "en", RouteTimings(80.0, 81.0)).to_payload(),
    ],
}
ROWS = {row.topic: row for row in documented_topics()}


@pytest.mark.parametrize("topic", BUILT)
def test_each_answer_has_the_documented_keys(topic: str) -> None:
    must, may = ROWS[topic].response_keys()
    for payload in BUILT[topic]:
        assert must <= set(payload) <= must | may, payload


def test_a_published_state_has_the_documented_keys() -> None:
    state = HaState.of("light.a", "on", None, {}, "2026-11-27T10:00:00+00:00")
    must, may = ROWS["alicia/integration/ha/state/{entity_id}"].request_keys()
    assert must <= set(state.to_payload()) <= must | may


def test_a_route_answer_names_only_the_steps_that_ran() -> None:
    unheard = RouteAnswer("", "", "en", RouteTimings(80.0, 81.0)).to_payload()
    assert unheard["timings"] == {"stt_ms": 80.0, "total_ms": 81.0}
    assert "announcement_id" not in unheard
    assert "audio" not in unheard
    assert ROUTED.to_payload()["timings"] == {
        "stt_ms": 80.0, "ai_ms": 700.0, "tts_ms": 120.0, "total_ms": 900.0
    }  # fmt: skip
