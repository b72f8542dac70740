"""Where the bridge's answers go (docs/protocol.md): the requester's reply_to, else its response topic."""

from __future__ import annotations

from typing import Any

from alicia_bus.envelope import echo, error_payload, new_message

# The longest text of an error the bridge logs or sends: a sender's value in it (a
# 4 MB "protocol", say) is quoted in part only.
MAX_ERROR_TEXT = 300


def bounded(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    """Text for a log line or an error: unprintable characters escaped, cut at limit (then …)."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    # Cut after escaping too: an escape is up to ten characters for one.
    return shown[:limit] + ("…" if len(shown) > limit or len(text) > limit else "")


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
