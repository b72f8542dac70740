"""Failure paths no broker or client can time reliably, and the error addressing, driven directly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wyoming_services.bridge.replies import error_reply
from wyoming_services.settings import Settings
from wyoming_services.tts import VoiceInfo
from wyoming_services.wyoming_handler import AliciaEventHandler


async def test_a_new_speech_stream_stops_the_previous_one(tmp_path: Path) -> None:
    voice = VoiceInfo("v", tmp_path, tmp_path, ["en"], 22050, [], "medium")

    async def synthesize(*_: Any) -> Any:
        if False:
            yield b""

    tts = SimpleNamespace(
        resolve=lambda *_: (voice, None), synthesize=synthesize,
        counters=SimpleNamespace(requests=0),
    )  # fmt: skip
    engines = SimpleNamespace(tts=tts, settings=Settings(), connections=0)
    reader = asyncio.StreamReader()
    handler = AliciaEventHandler(engines, reader, SimpleNamespace())  # type: ignore[arg-type]
    start = SimpleNamespace(voice=None)
    await handler._synthesize_start(start)  # type: ignore[arg-type]
    first = handler._tts_task
    await handler._synthesize_start(start)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert first is not None
    assert first.cancelled()  # not left waiting on its queue for ever
    await handler.disconnect()


@pytest.mark.parametrize(
    ("answerable", "raw", "target", "correlation"),
    [
        (True, {"message_id": "m1", "source": "kitchen"}, "alicia/voice/ai/response", "m1"),
        (True, {"message_id": "m1", "source": "kitchen",
                "reply_to": "alicia/devices/kitchen/answers"},
         "alicia/devices/kitchen/answers", "m1"),
        # Another device's namespace is never echoed as a destination.
        (True, {"message_id": "m1", "source": "kitchen",
                "reply_to": "alicia/devices/hall/answers"}, "alicia/voice/ai/response", "m1"),
        (True, None, "alicia/system/errors", "unknown"),  # could not be read at all
        (False, {"message_id": "m1", "source": "kitchen"}, "alicia/system/errors", "m1"),
    ],
    ids=["response-topic", "reply-to", "foreign-reply-to", "unreadable", "not-a-request"],
)  # fmt: skip
def test_an_error_goes_to_the_sender_only_when_it_can_be_told_apart(
    answerable: bool, raw: dict[str, Any] | None, target: str, correlation: str
) -> None:
    topic, message = error_reply(
        "b", "alicia", "alicia/voice/ai/request",
        answerable=answerable, raw=raw, code="invalid_field", text="payload.text",
    )  # fmt: skip
    assert topic == target
    assert message["correlation_id"] == correlation
    assert message["payload"]["error"] == {
        "code": "invalid_field",
        "message": "payload.text",
    }
