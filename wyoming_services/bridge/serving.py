"""Serving each request once, and its answer again to the requester's retries."""

from __future__ import annotations

import logging
import time
from typing import Any

import aiomqtt

from alicia_bus.envelope import Envelope, error_payload, new_message
from alicia_bus.topics import Kind
from wyoming_services.authority import Authority

from .health import BridgeCounters
from .replies import response_topic
from .requests import Publish, VoiceRequests
from .slots import Busy, Slots
from .tasks import AnsweredRequests, KeptAnswers, RequestKey

_LOGGER = logging.getLogger(__name__)


class Answering:
    """Requests served once each, a bounded number at a time; answers kept for retries.

    A requester re-sends the same message until it is answered (docs/protocol.md):
    a copy never runs the request again, it gets the answer kept for it, as the
    same response message (its message_id), so the requester can take it once.
    """

    def __init__(
        self,
        bridge_id: str,
        requests: VoiceRequests,
        counters: BridgeCounters,
        publish: Publish,
        max_concurrent: int,
    ) -> None:
        """publish(topic, message) sends a message of the bridge's (signed by it)."""
        self.bridge_id = bridge_id
        self.requests = requests
        self.counters = counters
        self._publish = publish
        self.slots = Slots(max_concurrent)
        # (source, message id) answered, and being answered now.
        self._answered = AnsweredRequests()
        self.kept = KeptAnswers()
        # Requesters who may not act (guests, in verify mode any made-up id) keep
        # their answers apart: however many ids they make up, they push out only
        # each other's.
        self.kept_for_guests = KeptAnswers()

    def _pool(self, key: RequestKey) -> KeptAnswers:
        return self.kept if key in self.kept else self.kept_for_guests

    def seen(self, request: Envelope) -> bool:
        """Whether this request was answered or is being answered now."""
        return (request.source, request.message_id) in self._answered

    def kept_for(self, request: Envelope) -> bool:
        """Whether an answer to this request is kept (a copy of it is a retry)."""
        key = (request.source, request.message_id)
        return key in self.kept or key in self.kept_for_guests

    async def repeat(self, request: Envelope) -> None:
        """A copy of a request served or in hand: the kept answer again, if there is one."""
        key = (request.source, request.message_id)
        pool = self._pool(key)
        kept = pool.again(key)
        if kept is None:
            # In hand (its answer is coming), just answered, or sent again enough.
            self.counters.duplicates += 1
            return
        try:
            await self._publish(
                kept.topic, self._response(request, kept.payload, kept.message_id)
            )
        except aiomqtt.MqttError as err:
            _LOGGER.warning("Answer to %s not sent again: %s", request.message_id, err)
            return
        pool.sent(key)
        self.counters.resent += 1

    async def serve(
        self, request: Envelope, authority: Authority, size: int = 0
    ) -> None:
        """Serve a request (of `size` bytes) not seen before and send its answer (kept for retries)."""
        key = (request.source, request.message_id)
        self._answered.begin(key)
        answered = False
        try:
            answered = await self._answer(key, request, authority, size)
        finally:
            self._answered.end(key, answered)

    async def _answer(
        self, key: RequestKey, request: Envelope, authority: Authority, size: int
    ) -> bool:
        payload = self.requests.refused(request, authority)
        if payload is not None:
            self.counters.reject(payload["error"]["code"])
        else:
            try:
                payload = await self._served(request, authority, size)
            except Busy as busy:
                self.counters.dropped_requests += 1
                payload = error_payload("failed", str(busy))
        topic = answer_topic(request, authority)
        # Kept before it is sent: a broker that dies with it (before or after its
        # PUBACK) loses it, and the requester's retry must find it.
        pool = self.kept if authority.may_act else self.kept_for_guests
        response = self._response(request, payload)
        pool.keep(key, topic, payload, response["message_id"])
        try:
            await self._publish(topic, response)
        except aiomqtt.MqttError as err:
            pool.unsent(key)
            _LOGGER.warning(
                "Answer to %s not sent (%s); kept for the requester's retry",
                request.message_id, err,
            )  # fmt: skip
        except BaseException:
            pool.unsent(key)  # cancelled, or a client error: still the retry's
            raise
        else:
            pool.sent(key)
        return True

    async def _served(
        self, request: Envelope, authority: Authority, size: int
    ) -> dict[str, Any]:
        """The request's answer, worked out in a slot of its requester's (Busy if none)."""
        async with self.slots.hold(authority.may_act, size):
            started = time.perf_counter()
            payload = await self.requests.payload_for(
                request, authority, self.counters.reject
            )
            failed = "error" in payload
            self.counters.served(time.perf_counter() - started, failed)
            if failed:
                _LOGGER.warning(
                    "Request %s on %s failed: %s",
                    request.message_id, request.topic, payload["error"]["message"],
                )  # fmt: skip
        return payload

    def _response(
        self, request: Envelope, payload: dict[str, Any], message_id: str | None = None
    ) -> dict[str, Any]:
        """The response message; a copy of a kept answer keeps the first one's message_id."""
        response = new_message(
            self.bridge_id, "response", payload,
            destination=request.source, correlation_id=request.message_id,
        )  # fmt: skip
        if message_id is not None:
            # The bridge cannot know whether the broker kept the first copy (a PUBACK
            # lost with a kill -9): the requester takes one message per id, so two
            # copies of one answer are one answer (docs/protocol.md, "Delivery").
            response["message_id"] = message_id
        return response


def answer_topic(request: Envelope, authority: Authority) -> str:
    """Where a request's answer goes: its reply_to, else its topic's response topic.

    A guest's route result never goes to voice/command/response: Home Assistant
    fires alicia_voice_command (automations) for what the bridge signs there, and
    a guest may use any id, an approved device's included. It goes to the guest's
    reply_to, else to .../response/{its id} (docs/protocol.md).
    """
    if request.reply_to:
        return request.reply_to
    topic = response_topic(request.topic)
    if request.kind is Kind.ROUTE and not authority.may_act:
        return f"{topic}/{request.source}"
    return topic
