"""Failure paths no broker or client can time reliably, and the error addressing, driven directly."""

from __future__ import annotations

from typing import Any

import pytest

from wyoming_services.bridge.replies import error_reply


@pytest.mark.parametrize(
    ("answerable", "raw", "target", "correlation"),
    [
        (True, {"message_id": "m1", "source": "kitchen"}, "alicia/voice/ai/response", "m1"),
        (True, {"message_id": "m1", "source": "kitchen",
                "reply_to": "alicia/devices/kitchen/replies/voice"},
         "alicia/devices/kitchen/replies/voice", "m1"),
        # Another device's namespace is never echoed as a destination.
        (True, {"message_id": "m1", "source": "kitchen",
                "reply_to": "alicia/devices/hall/replies/voice"}, "alicia/voice/ai/response", "m1"),
        # Nor is a response topic of the sender's inside another device's namespace.
        (True, {"message_id": "m1", "source": "kitchen",
                "reply_to": "alicia/devices/hall/x/response/kitchen"},
         "alicia/voice/ai/response", "m1"),
        (True, None, "alicia/system/errors", "unknown"),  # could not be read at all
        (False, {"message_id": "m1", "source": "kitchen"}, "alicia/system/errors", "m1"),
    ],
    ids=["response-topic", "reply-to", "foreign-reply-to", "foreign-response-topic",
         "unreadable", "not-a-request"],
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
