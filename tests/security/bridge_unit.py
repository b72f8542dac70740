"""A bridge driven without a broker: messages handed to it, what it publishes recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiomqtt

from alicia_bus.answers import AiAnswer
from alicia_bus.envelope import Envelope
from alicia_bus.signing import KeyPair
from alicia_bus.topics import Kind
from wyoming_services.authority import Authority
from wyoming_services.bridge import Bridge
from wyoming_services.budgets import Questions
from wyoming_services.settings import Settings

HUB = KeyPair.from_seed(bytes(range(32)))
DEVICE = KeyPair.from_seed(bytes(range(1, 33)))
AI = "alicia/voice/ai/request"


@dataclass
class Driven:
    """The bridge, what it published, the requests its handler ran and the broker's state."""

    bridge: Bridge
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    served: list[tuple[str, Authority]] = field(default_factory=list)
    broker_down: bool = False

    async def deliver(
        self, topic: str, message: dict[str, Any] | bytes, retain: bool = False
    ) -> None:
        """One message from the broker, as aiomqtt hands it over."""
        raw = message if isinstance(message, bytes) else json.dumps(message).encode()
        incoming = SimpleNamespace(topic=topic, payload=raw, retain=retain)
        await self.bridge._on_message(incoming)  # type: ignore[arg-type]

    def on(self, topic: str) -> list[dict[str, Any]]:
        """What the bridge published on topic."""
        return [message for target, message in self.published if target == topic]


def driven(tmp_path: Path, **settings: Any) -> Driven:
    """A bridge that trusts HUB, with DEVICE approved as kitchen_satellite; Grok answers 'Hello'."""
    values = Settings(
        security_key_file=str(tmp_path / "b.pem"), bridge_id="b", **settings
    )
    # Guests' questions: the strangers' budget (none unless wyoming_untrusted_questions).
    engines = SimpleNamespace(questions=Questions(values.wyoming_untrusted_questions))
    bridge = Bridge(values, engines)  # type: ignore[arg-type]
    bridge.trust.hub_key = HUB.public_key
    bridge.trust.devices = {"kitchen_satellite": DEVICE.public_key}
    bridge.trust.listed = True
    state = Driven(bridge)

    async def publish(topic: str, message: dict[str, Any], qos: int = 1) -> None:
        if state.broker_down:
            raise aiomqtt.MqttError("the broker went away")
        state.published.append((topic, message))

    async def ai(request: Envelope, authority: Authority) -> AiAnswer:
        state.served.append((request.message_id, authority))
        return AiAnswer("Hello")

    bridge._publish = publish  # type: ignore[method-assign]
    bridge.answering._publish = publish
    bridge.requests.handlers[Kind.AI_REQUEST] = ai
    return state
