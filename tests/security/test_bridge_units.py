"""Two failure paths no broker or client can time reliably, driven directly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiomqtt

from alicia_bus.answers import AiAnswer
from alicia_bus.envelope import Envelope, new_message, parse
from alicia_bus.topics import Kind
from wyoming_services.bridge import Bridge
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

    async def handler(envelope: Envelope) -> AiAnswer:
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
    await bridge._serve(first)  # answered, but the answer is lost
    await bridge._serve(first)  # the requester's retry, same message id: served again
    await bridge._serve(first)  # a redelivery of an answered request: not again
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
