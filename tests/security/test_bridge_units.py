"""Failure paths no broker or client can time reliably, and the error addressing, driven directly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiomqtt
import pytest

from alicia_bus.answers import AiAnswer
from alicia_bus.envelope import Envelope, new_message, parse
from alicia_bus.topics import Kind
from wyoming_services.authority import Authority
from wyoming_services.bridge import Bridge
from wyoming_services.bridge.replies import error_reply
from wyoming_services.settings import Settings
from wyoming_services.tts import VoiceInfo
from wyoming_services.wyoming_handler import AliciaEventHandler


def request(text: str = "Hi") -> Envelope:
    message = new_message("kitchen", "request", {"text": text})
    return parse("alicia/voice/ai/request", json.dumps(message).encode())


async def test_an_answer_lost_with_the_broker_is_served_again_on_retry(
    tmp_path: Path,
) -> None:
    settings = Settings(security_key_file=str(tmp_path / "bridge.pem"), bridge_id="b")
    bridge = Bridge(settings, SimpleNamespace())  # type: ignore[arg-type]
    served: list[str] = []

    async def handler(envelope: Envelope, _: Authority) -> AiAnswer:
        served.append(envelope.message_id)
        return AiAnswer("Hello")

    bridge.requests.handlers[Kind.AI_REQUEST] = handler
    sent: list[str] = []

    async def publish(topic: str, message: dict[str, Any], qos: int = 1) -> None:
        if not sent:
            sent.append("lost")
            raise aiomqtt.MqttError("the broker went away")
        sent.append(topic)

    bridge._publish = publish  # type: ignore[method-assign]
    first = request()
    anyone = Authority("kitchen", may_act=False)
    await bridge._serve(first, anyone)  # answered, but the answer is lost
    await bridge._serve(
        first, anyone
    )  # the requester's retry, same message id: served again
    await bridge._serve(first, anyone)  # a redelivery of an answered request: not again
    assert served == [first.message_id] * 2
    assert sent == ["lost", "alicia/voice/ai/response"]
    assert bridge.counters.duplicates == 1


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
