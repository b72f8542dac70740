"""The bridge's rows of docs/protocol.md's topic table, driven from the table itself.

Each request is built from the keys the table documents (optional ones included) and
its response must carry exactly the documented keys: a key the code adds or drops
without the table saying so fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from alicia_bus.audio import encode_audio
from tests.doc_topics import DocumentedTopic, documented_topics, served_by_bridge
from tests.wyoming.client import TtsAudio

from .client import bus_client
from .conftest import Bus

pytestmark = pytest.mark.slow
ROWS = [row for row in documented_topics() if served_by_bridge(row)]
SPOKEN = "Turn on the kitchen light."


def example_values(spoken: dict[str, TtsAudio]) -> dict[str, Any]:
    clip = spoken[SPOKEN]
    return {
        "audio": encode_audio(clip.pcm, clip.rate),
        "language": "en",
        "text": "Is it sunny?",
        "conversation_id": "doc-table",
        "voice": "en_US-joe-medium",
        "audio_reply": True,
    }


def test_the_bridge_serves_four_documented_requests() -> None:
    assert [row.topic for row in ROWS] == [
        "alicia/voice/stt/request", "alicia/voice/ai/request",
        "alicia/voice/tts/request", "alicia/voice/command/route",
    ]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[row.topic for row in ROWS])
async def test_documented_request_gets_the_documented_response(
    bus: Bus, spoken: dict[str, TtsAudio], row: DocumentedTopic
) -> None:
    required, optional = row.request_keys()
    values = example_values(spoken)
    payload = {key: values[key] for key in required | optional}
    assert row.response is not None
    # A guest's (test-device's) route result comes on .../response/test-device.
    async with bus_client(bus.broker.port, row.response, f"{row.response}/+") as client:
        answer = await client.request(row.topic, payload, limit=60)
    assert answer["message_type"] == "response"
    assert "error" not in answer["payload"], answer["payload"]
    must, may = row.response_keys()
    assert must <= set(answer["payload"]), row.topic
    assert set(answer["payload"]) <= must | may, row.topic
