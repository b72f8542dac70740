"""A guest's route result goes only to the guest, never to voice/command/response, where HA fires alicia_voice_command."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from alicia_bus.audio import encode_audio
from alicia_bus.envelope import new_message
from tests.security.bridge_unit import DEVICE, Driven, driven
from wyoming_services.authority import Authority
from wyoming_services.budgets import Questions

ROUTE = "alicia/voice/command/route"
SHARED = "alicia/voice/command/response"


@pytest.fixture
def route(tmp_path: Path) -> Driven:
    """A driven bridge whose Whisper hears "good night"; guests may ask (a budget)."""
    state = driven(tmp_path, wyoming_untrusted_questions=10)
    requests = state.bridge.requests
    requests.engines = SimpleNamespace(questions=Questions(10))  # type: ignore[assignment]

    async def transcribe(
        audio: object, language: object, who: Authority
    ) -> tuple[str, str, float]:
        return "good night", "en", 0.01

    async def answer(
        text: str, language: object, conversation: object, who: Authority
    ) -> str:
        return "Sleep well."

    requests._transcribe = transcribe  # type: ignore[method-assign,assignment]
    requests._answer = answer  # type: ignore[method-assign,assignment]
    requests._publish = state.bridge._publish
    return state


def request(source: str, reply_to: str | None = None) -> dict[str, object]:
    """A route request with a tenth of a second of audio."""
    audio = encode_audio(bytes(3200), 16000)
    return new_message(source, "request", {"audio": audio}, reply_to=reply_to)


async def test_a_forged_keyless_devices_route_result_is_not_on_the_shared_topic(
    route: Driven,
) -> None:
    """Unsigned, in the name of a device HA approved without a key: answered on its own topic only."""
    await route.deliver(ROUTE, request("kitchen_sensor"))
    assert route.on(SHARED) == []
    (answer,) = route.on(f"{SHARED}/kitchen_sensor")
    assert answer["payload"]["transcript"] == "good night"
    assert answer["destination"] == "kitchen_sensor"


async def test_a_guests_route_result_goes_to_its_reply_to(route: Driven) -> None:
    """A guest that names its reply topic gets its result there, and nowhere else."""
    reply_to = "alicia/devices/visitor/replies/voice"
    await route.deliver(ROUTE, request("visitor", reply_to))
    assert route.on(SHARED) == []
    (answer,) = route.on(reply_to)
    assert answer["payload"]["answer"] == "Sleep well."
    assert [topic for topic, _ in route.published] == [reply_to]


async def test_an_approved_devices_route_result_is_on_the_shared_topic(
    route: Driven,
) -> None:
    """Verified and approved: its result is the one HA tells automations of."""
    await route.deliver(ROUTE, DEVICE.sign(ROUTE, request("kitchen_satellite")))
    (answer,) = route.on(SHARED)
    assert answer["destination"] == "kitchen_satellite"
    assert answer["payload"]["transcript"] == "good night"
