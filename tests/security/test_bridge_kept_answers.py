"""Kept answers under a flood: a requester (or a crowd of made-up ones) pushes out only its own."""

from __future__ import annotations

from pathlib import Path

from alicia_bus.envelope import new_message
from wyoming_services.bridge.tasks import MAX_KEPT, MAX_KEPT_PER_SOURCE, KeptAnswers

from .bridge_unit import AI, DEVICE, driven

INBOX = "alicia/devices/kitchen_satellite/replies/voice"


def test_a_requester_over_its_share_pushes_out_its_own_oldest() -> None:
    kept = KeptAnswers()
    kept.keep(("victim", "v1"), "t", {"text": "yours"})
    for index in range(MAX_KEPT_PER_SOURCE + 5):
        kept.keep(("noisy", f"n{index}"), "t", {"text": "mine"})
    assert ("victim", "v1") in kept
    assert ("noisy", "n0") not in kept
    assert len(kept) == MAX_KEPT_PER_SOURCE + 1


async def test_made_up_guests_cannot_push_out_an_approved_devices_lost_answer(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    message = DEVICE.sign(
        AI, new_message("kitchen_satellite", "request", {"text": "Hi"}, reply_to=INBOX)
    )
    bus.broker_down = True
    await bus.deliver(AI, message)  # served; the answer's publish fails
    bus.broker_down = False
    for index in range(MAX_KEPT + 1):  # unsigned guests, one made-up id each
        await bus.deliver(AI, new_message(f"guest{index}", "request", {"text": "x"}))
    await bus.deliver(AI, message)  # the device's retry
    assert [m["payload"] for m in bus.on(INBOX)] == [{"text": "Hello"}]
