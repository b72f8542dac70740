"""Answers matched and signed by who was asked; errors bounded and kept out of others' namespaces."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.home import CommandAnswer, HaCommand
from wyoming_services.bridge.replies import MAX_ERROR_TEXT, bounded

from .bridge_unit import AI, DEVICE, HUB, driven

REPLY = "alicia/devices/b/replies/ha"
VICTIM_INBOX = "alicia/devices/kitchen_satellite/replies/voice"


def from_hub(correlation_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer = new_message(
        "home-assistant", "response", payload,
        destination="b", correlation_id=correlation_id,
    )  # fmt: skip
    return HUB.sign(REPLY, answer)


async def test_a_hub_signed_error_under_our_id_is_not_the_answer(
    tmp_path: Path,
) -> None:
    """HA signs an error to whoever claims our id and reply topic: it says nothing of ours."""
    bus = driven(tmp_path)
    sent: list[str] = []

    async def publish(command: HaCommand, message_id: str) -> None:
        sent.append(message_id)

    bus.bridge.commands._publish = publish
    asking = asyncio.create_task(
        bus.bridge.commands.run(HaCommand("light.turn_on", ("light.kitchen",)))
    )
    await asyncio.sleep(0)
    (ours,) = sent
    echo = {"error": {"code": "invalid_field", "message": "payload.action must be"},
            "topic": "alicia/integration/ha/command"}  # fmt: skip
    await bus.deliver(REPLY, from_hub(ours, echo))
    await bus.deliver(REPLY, from_hub(ours, {"status": "done"}))
    await bus.deliver(REPLY, from_hub(ours, {"status": "refused"}))  # once only
    assert await asyncio.wait_for(asking, 1) == CommandAnswer("done")


async def test_a_huge_value_is_quoted_only_in_part(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus = driven(tmp_path)
    message = new_message("stranger", "request", {"audio": {}}) | {
        "protocol": "x" * (4 * 1024 * 1024 - 400)
    }
    await bus.deliver("alicia/voice/stt/request", message)
    ((_, error),) = bus.published
    assert error["payload"]["error"]["code"] == "unsupported_protocol"
    assert len(error["payload"]["error"]["message"]) <= 301
    assert max(len(r.getMessage()) for r in caplog.records) < 1000


@pytest.mark.parametrize("broken", [{}, {"text": 5}], ids=["unsigned", "malformed"])
async def test_an_error_under_a_keyed_id_never_lands_in_its_namespace(
    tmp_path: Path, broken: dict[str, Any]
) -> None:
    """Forged in an approved device's name, under the id it waits on: not into its inbox."""
    bus = driven(tmp_path)
    pending = new_message(
        "kitchen_satellite", "request", {"text": "Hi"}, reply_to=VICTIM_INBOX
    )
    forged = pending | {"payload": broken or pending["payload"]}
    await bus.deliver(AI, forged)
    assert bus.on(VICTIM_INBOX) == []
    assert bus.on("alicia/voice/ai/response") == []
    (error,) = bus.on("alicia/system/errors")
    assert error["correlation_id"] == pending["message_id"]


async def test_a_sender_still_hears_of_its_own_mistakes(tmp_path: Path) -> None:
    bus = driven(tmp_path)
    mine = new_message(
        "kitchen_satellite", "request", {"text": 5}, reply_to=VICTIM_INBOX
    )
    await bus.deliver(AI, DEVICE.sign(AI, mine))
    keyless = new_message("guest", "request", {"text": 5})
    await bus.deliver(AI, keyless)
    (signed,) = bus.on(VICTIM_INBOX)
    assert signed["payload"]["error"]["code"] == "invalid_field"
    (unkeyed,) = bus.on("alicia/voice/ai/response")
    assert unkeyed["correlation_id"] == keyless["message_id"]


@pytest.mark.parametrize("unprintable", ["\U000e0001", "\x00", "\u202e"])
def test_escaped_error_text_stays_within_its_bound(unprintable: str) -> None:
    assert len(bounded(unprintable * 100_000)) <= MAX_ERROR_TEXT + 1
