"""No answer lost: a retry of a served request gets its answer again, and never runs it twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alicia_bus.answers import AiAnswer
from alicia_bus.envelope import Envelope, new_message, timestamp
from alicia_bus.topics import Kind
from wyoming_services.authority import Authority
from wyoming_services.bridge.tasks import MAX_RESENDS

from .bridge_unit import AI, DEVICE, driven

INBOX = "alicia/devices/kitchen_satellite/replies/voice"


def question(source: str = "kitchen_satellite", age: float = 0) -> dict[str, object]:
    message = new_message(source, "request", {"text": "Hi"}, reply_to=INBOX)
    message["timestamp"] = timestamp(datetime.now(UTC) - timedelta(seconds=age))
    return message


async def test_a_signed_request_whose_answer_was_lost_is_answered_on_retry(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    message = DEVICE.sign(AI, question())
    bus.broker_down = True
    await bus.deliver(AI, message)  # served; the answer's publish fails
    bus.broker_down = False
    await bus.deliver(AI, message)  # the same message again: replayed, yet a retry
    assert len(bus.served) == 1
    (answer,) = bus.on(INBOX)
    assert answer["correlation_id"] == message["message_id"]
    assert answer["payload"] == {"text": "Hello"}
    assert "replayed" not in bus.bridge.counters.by_code


async def test_a_late_retry_past_the_window_still_gets_its_answer(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    message = DEVICE.sign(AI, question(age=10))
    bus.broker_down = True
    await bus.deliver(AI, message)
    bus.broker_down = False
    bus.bridge.trust.gate.window.window = 5  # the requester retried long after
    await bus.deliver(AI, message)
    assert len(bus.served) == 1
    assert [m["payload"] for m in bus.on(INBOX)] == [{"text": "Hello"}]


async def test_an_unsigned_retry_gets_the_kept_answer_not_a_second_run(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path, wyoming_untrusted_questions=10)
    message = question("guest") | {"reply_to": None}
    bus.broker_down = True
    await bus.deliver(AI, message)
    bus.broker_down = False
    await bus.deliver(AI, message)
    assert len(bus.served) == 1
    assert len(bus.on("alicia/voice/ai/response")) == 1


async def test_a_copy_crossing_its_answer_is_not_answered_twice(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    message = DEVICE.sign(AI, question())
    await bus.deliver(AI, message)
    await bus.deliver(AI, message)  # a QoS 1 redelivery, as the answer goes out
    assert len(bus.on(INBOX)) == 1


async def test_a_copy_while_the_request_runs_is_not_answered_twice(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    release = asyncio.Event()

    async def slow(request: Envelope, authority: Authority) -> AiAnswer:
        bus.served.append((request.message_id, authority))
        await release.wait()
        return AiAnswer("Hello")

    bus.bridge.requests.handlers[Kind.AI_REQUEST] = slow
    message = DEVICE.sign(AI, question())
    running = asyncio.create_task(bus.deliver(AI, message))
    await asyncio.sleep(0)
    await bus.deliver(AI, message)  # a QoS 1 redelivery, or an early retry
    release.set()
    await running
    assert len(bus.served) == 1
    assert len(bus.on(INBOX)) == 1


async def test_a_copy_while_its_answer_awaits_the_broker_is_not_answered_twice(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    recorded = bus.bridge.answering._publish
    sent, acknowledged = asyncio.Event(), asyncio.Event()

    async def slow_ack(topic: str, message: dict[str, Any]) -> None:
        await recorded(topic, message)
        if not sent.is_set():
            sent.set()
            await acknowledged.wait()  # the broker's PUBACK, late under load

    bus.bridge.answering._publish = slow_ack
    message = DEVICE.sign(AI, question())
    running = asyncio.create_task(bus.deliver(AI, message))
    await sent.wait()
    await bus.deliver(AI, message)  # the QoS 1 copy, read while the answer is in flight
    acknowledged.set()
    await running
    assert len(bus.served) == 1
    assert len(bus.on(INBOX)) == 1


async def test_an_answer_whose_publish_was_cancelled_is_the_retrys(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    recorded = bus.bridge.answering._publish
    hangs = asyncio.Event()

    async def hanging(topic: str, message: dict[str, Any]) -> None:
        if not hangs.is_set():
            hangs.set()
            await asyncio.Event().wait()  # the broker never acknowledges
        await recorded(topic, message)

    bus.bridge.answering._publish = hanging
    message = DEVICE.sign(AI, question())
    first = asyncio.create_task(bus.deliver(AI, message))
    await hangs.wait()
    first.cancel()  # the bridge stopping, or the publish given up
    await asyncio.gather(first, return_exceptions=True)
    bus.bridge.answering.kept.resend_after = 0
    await bus.deliver(AI, message)  # the requester's retry
    assert len(bus.served) == 1
    assert [m["payload"] for m in bus.on(INBOX)] == [{"text": "Hello"}]


async def test_a_replayed_request_is_answered_again_a_bounded_number_of_times(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    bus.bridge.answering.kept.resend_after = 0  # each copy as if seconds later
    message = DEVICE.sign(AI, question())
    for _ in range(50):
        await bus.deliver(AI, message)
    assert len(bus.served) == 1
    assert len(bus.on(INBOX)) == 1 + MAX_RESENDS
