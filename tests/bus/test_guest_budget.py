"""Bus guests (requesters that may not act) spend the owner's key only within a budget, and never hold up approved devices."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from alicia_bus.answers import AiAnswer, TtsAnswer
from alicia_bus.envelope import Envelope, new_message
from alicia_bus.topics import Kind
from tests.security.bridge_unit import AI, DEVICE, Driven, driven
from wyoming_services.authority import Authority
from wyoming_services.budgets import QUESTION_BURST, TOGETHER, Questions

TTS = "alicia/voice/tts/request"
GUESTS = 60  # three times the sender's burst of 20, each under an id of its own


def budgeted(tmp_path: Path, per_minute: int, **settings: Any) -> Driven:
    """A driven bridge whose Grok records who asked; strangers' budget per_minute."""
    bus = driven(tmp_path, wyoming_untrusted_questions=per_minute, **settings)
    bus.bridge.requests.engines = SimpleNamespace(  # type: ignore[assignment]
        questions=Questions(per_minute)
    )
    return bus


def answers(bus: Driven, topic: str) -> list[dict[str, Any]]:
    """The payloads the bridge answered on topic."""
    return [message["payload"] for message in bus.on(topic)]


async def test_made_up_ids_spend_nothing_of_the_key_by_default(tmp_path: Path) -> None:
    """A flood under new ids each reaches Grok not once; each is told why; the device is served."""
    bus = budgeted(tmp_path, 0)
    for i in range(GUESTS):
        await bus.deliver(AI, new_message(f"guest{i}", "request", {"text": "An essay"}))
    device = new_message("kitchen_satellite", "request", {"text": "Lights off"})
    await bus.deliver(AI, DEVICE.sign(AI, device))
    assert [authority.who for _, authority in bus.served] == ["kitchen_satellite"]
    refused = [p for p in answers(bus, "alicia/voice/ai/response") if "error" in p]
    assert len(refused) == GUESTS
    assert {p["error"]["code"] for p in refused} == {"not_allowed"}
    assert "wyoming_untrusted_questions is 0" in refused[0]["error"]["message"]


async def test_guests_together_ask_within_the_budget(tmp_path: Path) -> None:
    """With a budget, made-up ids buy no more than all guests' bucket together."""
    bus = budgeted(tmp_path, 60)
    for i in range(GUESTS):
        await bus.deliver(AI, new_message(f"guest{i}", "request", {"text": "An essay"}))
    assert len(bus.served) == QUESTION_BURST * TOGETHER
    # One guest alone: its own burst, however fast it asks.
    bus = budgeted(tmp_path, 60)
    for _ in range(10):
        await bus.deliver(AI, new_message("guest", "request", {"text": "Again"}))
    assert len(bus.served) == QUESTION_BURST


async def test_an_approved_device_is_answered_promptly_during_a_guest_flood(
    tmp_path: Path,
) -> None:
    """Guests' questions in hand (Grok slow) leave the device's question no wait."""
    bus = budgeted(tmp_path, 600, bridge_max_concurrent=2)
    release = asyncio.Event()

    async def slow(request: Envelope, authority: Authority) -> AiAnswer:
        bus.served.append((request.message_id, authority))
        if not authority.may_act:
            await release.wait()
        return AiAnswer("Hello")

    bus.bridge.requests.handlers[Kind.AI_REQUEST] = slow
    flood = [
        asyncio.create_task(
            bus.deliver(AI, new_message(f"guest{i}", "request", {"text": "Essay"}))
        )
        for i in range(GUESTS)
    ]
    await asyncio.sleep(0.01)
    device = DEVICE.sign(
        AI, new_message("kitchen_satellite", "request", {"text": "Lights off"})
    )
    try:
        await asyncio.wait_for(bus.deliver(AI, device), 1.0)
    finally:
        release.set()
        await asyncio.gather(*flood)
    (answer,) = [
        m for m in bus.on("alicia/voice/ai/response")
        if m["correlation_id"] == device["message_id"]
    ]  # fmt: skip
    assert answer["payload"] == {"text": "Hello"}
    # Guests used at most half the slots while the device was served.
    assert [a.may_act for _, a in bus.served][:2] == [False, True]


async def test_guests_waiting_for_a_slot_are_bounded(tmp_path: Path) -> None:
    """Speech (no key, but CPU) from made-up ids: past the bound a guest is told busy at once."""
    from wyoming_services.bridge.slots import MAX_GUESTS_WAITING

    bus = budgeted(tmp_path, 0, bridge_max_concurrent=1)
    release = asyncio.Event()
    spoken: list[str] = []

    async def slow_tts(request: Envelope, authority: Authority) -> TtsAnswer:
        spoken.append(request.source)
        if not authority.may_act:
            await release.wait()
        return TtsAnswer({"format": "wav", "data": ""})

    bus.bridge.requests.handlers[Kind.TTS_REQUEST] = slow_tts
    count = MAX_GUESTS_WAITING + 20
    flood = [
        asyncio.create_task(
            bus.deliver(TTS, new_message(f"guest{i}", "request", {"text": "Hi"}))
        )
        for i in range(count)
    ]
    await asyncio.sleep(0.05)
    busy = [
        p for p in answers(bus, "alicia/voice/tts/response")
        if "busy" in p.get("error", {}).get("message", "")
    ]  # fmt: skip
    assert len(busy) == count - 1 - MAX_GUESTS_WAITING  # one in hand, the bound waiting
    assert bus.bridge.counters.dropped_requests == len(busy)
    device = new_message("kitchen_satellite", "request", {"text": "Hi"})
    try:
        await asyncio.wait_for(bus.deliver(TTS, DEVICE.sign(TTS, device)), 1.0)
        assert spoken[-1] == "kitchen_satellite"
    finally:
        release.set()
        await asyncio.gather(*flood)
