"""The hub's side of the bus: subscriptions, reading and admitting messages, signed publishing."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
import logging
from typing import Any

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import HomeAssistant, callback

from .admission import Admission
from .bus.commands import report_request
from .bus.envelope import (
    Envelope,
    echo,
    error_payload,
    new_message,
    parse,
)
from .bus.errors import ProtocolError, SecurityError
from .bus.limits import RateLimiter
from .bus.policy import Mode
from .bus.signing import verify
from .bus.text import excerpt
from .bus.topics import HUB_SOURCE, ID_PATTERN, RETAINED_KINDS, kind_of
from .tally import Tally

_LOGGER = logging.getLogger(__name__)

type Handler = Callable[[ReceiveMessage], None]


MISTAKE_RATE = 1.0
MISTAKE_BURST = 5.0
# All answers to mistakes together: forged sources each get a fresh bucket above.
MISTAKES_ALL_RATE = 10.0
MISTAKES_ALL_BURST = 50.0
# Device requests (announcements, HA commands) being served at once.
MAX_REQUESTS_IN_FLIGHT = 16
# (source, message id) of requests run, remembered to run each once.
SERVED_IDS = 10_000


class BusLink:
    """Reads, admits and sends the hub's bus messages."""

    def __init__(
        self,
        hass: HomeAssistant,
        prefix: str,
        admission: Admission,
        key_of: Callable[[str], str | None],
        tally: Tally,
    ) -> None:
        """key_of(source) is a sender's approved key; nothing is subscribed yet."""
        self.hass = hass
        self.prefix = prefix
        self.admission = admission
        self.key_of = key_of
        self._counters = tally.counters
        self._unsubscribe: list[Callable[[], None]] = []
        self._in_flight = 0
        self._served: OrderedDict[tuple[str, str], None] = OrderedDict()
        # Answers to mistakes, per sender: a burst of 5, then one a second.
        self._mistakes = RateLimiter(MISTAKE_RATE, MISTAKE_BURST)
        self._all_mistakes = RateLimiter(MISTAKES_ALL_RATE, MISTAKES_ALL_BURST)

    async def async_subscribe(self, handlers: dict[str, Handler]) -> None:
        """Subscribe each topic (under the prefix) to its handler."""
        for topic, handler in handlers.items():
            self._unsubscribe.append(
                await mqtt.async_subscribe(
                    self.hass, f"{self.prefix}/{topic}", handler, qos=1, encoding=None
                )
            )

    @callback
    def unsubscribe(self) -> None:
        """Stop listening."""
        while self._unsubscribe:
            self._unsubscribe.pop()()

    def read(
        self,
        message: ReceiveMessage,
        secure: bool = True,
        refused: Callable[[str, str], None] | None = None,
    ) -> Envelope | None:
        """The parsed message if it keeps the contract (and, if secure, is admitted)."""
        self._counters.messages += 1
        payload = message.payload
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        kind = kind_of(message.topic, self.prefix)
        if not raw and kind in RETAINED_KINDS:
            # A retained message cleared (a device leaving clears its registration and
            # status): the broker passes the removal on to those already subscribed
            # without the retain flag. It carries nothing to refuse. Anywhere else an
            # empty message is a mistake, counted and answered as any other.
            return None
        if kind is None:
            # A "+" level that is no id (any text, 64 KB of it): nobody's topic.
            self.mistake(
                excerpt(message.topic, 128),
                ProtocolError(
                    "invalid_field",
                    f"the id in a topic must match {ID_PATTERN.pattern}",
                ),
            )
            return None
        try:
            read = parse(message.topic, raw, self.prefix)
        except ProtocolError as err:
            self._counters.reject(err.code)
            self._answer_mistake(message.topic, err)
            if refused is not None:
                refused(message.topic, str(err))
            return None
        if secure and not self.admit(message, read, self.key_of(read.source)):
            return None
        return read

    def mistake(self, topic: str, err: ProtocolError) -> None:
        """A message that breaks a rule: counted, and answered as a parse error is."""
        self._counters.reject(err.code)
        self._answer_mistake(topic, err)

    def unknown_sender(self, topic: str, read: Envelope) -> None:
        """A message from a device HA has not approved: counted, logged and answered."""
        self._counters.unknown_device += 1
        self._answer_mistake(
            topic,
            ProtocolError(
                "not_approved",
                f"{read.source} is not an approved device: register it, then approve "
                "it in Home Assistant (Settings → Devices & services, Discovered)",
                read.raw,
            ),
        )

    def _answer_mistake(self, topic: str, err: ProtocolError) -> None:
        """Tell the sender what is wrong: on its reply_to, else alicia/system/errors.

        Throttled per sender and in all (a device maker iterating gets every answer;
        a flood, also from forged senders, does not), logged and counted alike.
        """
        sender = echo(err.envelope, self.prefix)
        source = sender.source
        authentic = self._on_its_authority(topic, err.envelope, source)
        # A sender's own budget only on its own word: mistakes forged in an approved
        # device's name share one budget, and cannot silence the device's answers.
        if not self._mistakes.allow(
            source if authentic and source else "\x00unverified"
        ):
            return
        if not self._all_mistakes.allow("\x00all"):
            return
        self.admission.audit.record(err.code, source or "?", topic)
        self.admission.changed()
        _LOGGER.warning(
            "Refused a message from %s on %s: %s (%s)", source or "an unknown sender",
            topic, err, err.code,
        )  # fmt: skip
        target = f"{self.prefix}/system/errors"
        if sender.reply_to and authentic:
            target = sender.reply_to
        answer = self.message(
            source or "broadcast", "response", error_payload(err.code, str(err)) | {"topic": topic},
            correlation_id=sender.correlation_id,
        )  # fmt: skip
        self.hass.async_create_task(
            self.async_publish(target, answer), eager_start=True
        )

    def _on_its_authority(
        self, topic: str, envelope: dict[str, Any] | None, source: str | None
    ) -> bool:
        """Whether an unread message speaks for its source as admission would take it.

        Its reply_to is in that source's namespace: the hub publishes there, signed,
        only on the word of whoever owns it (an approved key's signature).
        """
        mode = self.admission.mode
        key = self.key_of(source) if source else None
        if mode is Mode.OFF or (key is None and mode is Mode.VERIFY):
            return True
        try:
            verify(topic, envelope or {}, key or "")
        except SecurityError:
            return False
        return True

    def requests(self, serve: Callable[[Envelope], Awaitable[None]]) -> Handler:
        """A handler serving each admitted request once, in a task, a bounded number at once."""

        async def serve_one(read: Envelope) -> None:
            try:
                await serve(read)
            except Exception:
                # The requester is still answered; the hub goes on.
                _LOGGER.exception(
                    "Request %s from %s failed", read.message_id, read.source
                )
                failed = {"code": "failed", "message": "internal error"}
                await self.async_respond(
                    read.reply_to or f"{read.topic}/response", read,
                    {"status": "failed", "error": failed},
                )  # fmt: skip
            finally:
                self._in_flight -= 1

        @callback
        def handle(message: ReceiveMessage) -> None:
            if (read := self.read(message)) is None:
                return
            key = (read.source, read.message_id)
            if key in self._served:
                # A QoS 1 redelivery, or a copy: each request runs once.
                self._counters.reject("duplicate")
                return
            if self._in_flight >= MAX_REQUESTS_IN_FLIGHT:
                # Dropped, not queued: a flood cannot pile up tasks; requesters retry.
                self._counters.reject("busy")
                return
            self._served[key] = None
            if len(self._served) > SERVED_IDS:
                self._served.popitem(last=False)
            self._in_flight += 1
            self.hass.async_create_task(serve_one(read), eager_start=True)

        return handle

    def admit(self, message: ReceiveMessage, read: Envelope, key: str | None) -> bool:
        """Admission's verdict on a parsed message (rate, signature, replay)."""
        return self.admission.admit(message.topic, read, key, bool(message.retain))

    def message(
        self,
        destination: str,
        message_type: str,
        payload: dict[str, Any],
        correlation_id: str | None = None,
    ) -> dict[str, Any]:
        """A new message from the hub."""
        return new_message(
            HUB_SOURCE, message_type, payload,
            destination=destination, correlation_id=correlation_id,
        )  # fmt: skip

    async def async_publish(
        self, topic: str, message: dict[str, Any], retain: bool = False
    ) -> None:
        """Publish a hub message, signed (docs/security.md)."""
        await mqtt.async_publish(
            self.hass, topic, self.admission.seal(topic, message), 1, retain
        )

    async def async_request_report(self, device_id: str) -> None:
        """Ask a device for every current value (bus.commands.REPORT)."""
        message = self.message(device_id, "command", report_request())
        await self.async_publish(f"{self.prefix}/devices/{device_id}/command", message)

    async def async_command(
        self,
        device_id: str,
        capability: str,
        action: str,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Send a command envelope to a device."""
        message = self.message(
            device_id,
            "command",
            {"capability": capability, "action": action, "params": params or {}},
        )
        await self.async_publish(f"{self.prefix}/devices/{device_id}/command", message)

    async def async_configure(self, device_id: str, settings: dict[str, Any]) -> None:
        """Send a device its settings: retained, so it gets them when it next connects."""
        message = self.message(device_id, "command", {"settings": settings})
        await self.async_publish(
            f"{self.prefix}/devices/{device_id}/config", message, retain=True
        )

    async def async_respond(
        self, topic: str, request: Envelope, payload: dict[str, Any]
    ) -> None:
        """Answer a request on topic."""
        await self.async_publish(
            topic,
            self.message(
                request.source, "response", payload, correlation_id=request.message_id
            ),
        )
