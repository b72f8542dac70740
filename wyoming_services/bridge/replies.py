"""Where the bridge's answers go (docs/protocol.md): the requester's reply_to, else its response topic."""

from __future__ import annotations

from typing import Any

from alicia_bus.envelope import echo, error_payload, new_message


def response_topic(request_topic: str) -> str:
    """voice/stt/request -> voice/stt/response."""
    return request_topic.rsplit("/", 1)[0] + "/response"


def error_reply(
    bridge_id: str,
    prefix: str,
    topic: str,
    *,
    answerable: bool,
    raw: dict[str, Any] | None,
    code: str,
    text: str,
) -> tuple[str, dict[str, Any]]:
    """The topic and message of an error: to the sender if its request got that far.

    answerable: the topic is a request the bridge serves. Otherwise, or when the
    message cannot be told apart, the error goes to system/errors.
    """
    sender = echo(raw, prefix)  # only what is valid and clean is echoed
    if sender.correlation_id != "unknown" and answerable:
        target = sender.reply_to or response_topic(topic)
    else:
        target = f"{prefix}/system/errors"
    payload = error_payload(code, text) | {"topic": topic}
    message = new_message(
        bridge_id, "response", payload, correlation_id=sender.correlation_id
    )
    return target, message
