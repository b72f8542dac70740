"""The bridge: serves the bus's voice requests with the server's engines, and reports its health."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
import secrets
from typing import Any

import aiomqtt

from alicia_bus.envelope import Envelope, new_message, parse
from alicia_bus.errors import ProtocolError, SecurityError
from alicia_bus.home import HaCommand, HaState, is_entity_id
from alicia_bus.policy import Mode
from alicia_bus.status import Status
from alicia_bus.topics import HUB_SOURCE, REPLIES, Kind, is_identifier, kind_of
from alicia_bus.vocabulary import Vocabulary
from wyoming_services.authority import Authority
from wyoming_services.engines import Engines
from wyoming_services.keys import load_or_create_key
from wyoming_services.settings import Settings
from wyoming_services.voice import learn_home

from .health import BridgeCounters, HealthReport
from .home import CommandFailed, HomeCommands, HomeState
from .home_tools import HomeTools
from .inbox import Requests, read
from .link import connect, hear_hub_again, hub_subscriptions, subscriptions
from .registration import default_bridge_id, registration
from .replies import bounded, error_reply
from .requests import VoiceRequests
from .serving import Answering
from .stopping import drain
from .tasks import TaskPool
from .trust import Trust

_LOGGER = logging.getLogger(__name__)
# The limiter's bucket for all answers to refused messages: no sender id is empty.
REFUSALS = ""
REQUEST_MAX_AGE = timedelta(seconds=120)
# Refusals of a message that was its sender's own, only late or a copy: a retry.
RETRY_CODES = ("replayed", "stale")
# Whether the Wyoming server answers (bridge/liveness.py).
Probe = Callable[[], Awaitable[bool]]


class Bridge:
    """Connects to the broker, admits messages, serves voice requests and answers them."""

    def __init__(
        self, settings: Settings, engines: Engines, probe: Probe | None = None
    ) -> None:
        """Nothing connects until run(); `probe` checks the Wyoming server is answering."""
        self.settings = settings
        self.engines = engines
        self.probe = probe
        self.prefix = settings.mqtt_topic_prefix
        self.bridge_id = settings.bridge_id or default_bridge_id()
        self.counters = BridgeCounters()
        self.report = HealthReport(self.counters)
        self.connected = asyncio.Event()
        self._pool = TaskPool()
        self._requests = Requests(self.counters)
        self._client: aiomqtt.Client | None = None
        self._stopping = asyncio.Event()
        self._session = secrets.token_hex(8)
        self._grace = 0.0
        key_file = Path(
            settings.security_key_file
            or Path.home() / ".local/share/alicia" / f"{self.bridge_id}.pem"
        )
        self.key = load_or_create_key(key_file)
        self.trust = Trust(settings, key_file)
        self.requests = VoiceRequests(
            engines, self.bridge_id, self.prefix, self._publish
        )
        self.answering = Answering(
            self.bridge_id, self.requests, self.counters, self._publish,
            settings.bridge_max_concurrent,
        )  # fmt: skip
        self._pool.shed = self.answering.slots.shed
        # What HA shows of the home on the bus, and Grok's tools on it.
        self.home = HomeState()
        self.commands = HomeCommands(
            self._send_command, f"{self.prefix}/devices/{self.bridge_id}/{REPLIES}/ha"
        )
        self.home_tools = HomeTools(self.home, self.commands)
        # Messages only Home Assistant may send, by kind.
        self._from_hub: dict[Kind, Callable[[Envelope], None]] = {
            Kind.VOCABULARY: self._take_vocabulary,
            Kind.HA_STATE: self._take_state,
            Kind.RESPONSE: self.commands.answered,
        }

    @property
    def status_topic(self) -> str:
        """Retained availability; the broker publishes 'offline' there as our will."""
        return f"{self.prefix}/devices/{self.bridge_id}/status"

    def _status(self, state: str) -> bytes:
        # The connection's session: HA takes our (old by then) signed will with it.
        status = Status(state == "online", self._session)
        message = new_message(self.bridge_id, "event", status.to_payload())
        return self.seal(self.status_topic, message)

    def seal(self, topic: str, message: dict[str, Any]) -> bytes:
        """A message of ours, signed for topic (docs/security.md)."""
        if self.trust.mode is Mode.OFF:
            return json.dumps(message).encode()
        return self.key.seal(topic, message)

    async def _publish(self, topic: str, message: dict[str, Any], qos: int = 1) -> None:
        if self._client is None:
            raise aiomqtt.MqttError("not connected to the broker")
        await self._client.publish(topic, self.seal(topic, message), qos=qos)

    async def _send_command(self, command: HaCommand, message_id: str) -> None:
        """An ha/command request, answered on our own response topic."""
        message = new_message(
            self.bridge_id, "request", command.to_payload(),
            destination=HUB_SOURCE, reply_to=self.commands.reply_topic,
        )  # fmt: skip
        message["message_id"] = message_id
        # QoS 0: with no PUBACK to send first, HA's answer is not held back by
        # Nagle's algorithm on its connection (HA's MQTT client leaves it on); on
        # the way there, the broker's PUBACK to us would stall the same way. The
        # wait for the answer is bounded, and a lost command is said so.
        try:
            await self._publish(f"{self.prefix}/integration/ha/command", message, qos=0)
        except aiomqtt.MqttError as err:
            raise CommandFailed(f"the bus is not reachable ({err})") from err

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff until stop() (or cancellation)."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                async with self._connect() as client:
                    self._client = client
                    backoff = 0.5
                    await self._on_connect(client)
                    await self._serve_connection(client)
            except aiomqtt.MqttError as err:
                _LOGGER.warning(
                    "MQTT broker %s:%s unavailable (%s); retrying in %.1f s",
                    self.settings.mqtt_host, self.settings.mqtt_port, err, backoff,
                )  # fmt: skip
            self._client = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)
            backoff = min(backoff * 2, 30.0)

    def stop(self, grace: float) -> None:
        """Take no new requests, answer those in hand (for `grace` seconds), say offline."""
        self._grace = grace
        self._stopping.set()

    async def _serve_connection(self, client: aiomqtt.Client) -> None:
        heartbeat = asyncio.create_task(self._heartbeats())
        consume = asyncio.create_task(self._consume(client))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({consume, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if consume.done():
                consume.result()  # the connection failed: reconnect
                return
            await drain(
                client, consume, self._grace, pool=self._pool, waiting=self._requests,
                topics=[topic for topic, _ in self._subscriptions()],
                say_offline=self._say_offline,
            )  # fmt: skip
        except asyncio.CancelledError:
            # Stopping without a drain: still say so, since no will is sent on a clean exit.
            with contextlib.suppress(aiomqtt.MqttError):
                await self._say_offline(client, 1.0)
            raise
        finally:
            for task in (heartbeat, consume, stopping):
                task.cancel()
            self.connected.clear()

    async def _consume(self, client: aiomqtt.Client) -> None:
        await read(client, self._requests, self._pool, self._on_message)

    async def _say_offline(self, client: aiomqtt.Client, seconds: float) -> None:
        await client.publish(
            self.status_topic, self._status("offline"), qos=1, retain=True,
            timeout=seconds,
        )  # fmt: skip

    def _connect(self) -> aiomqtt.Client:
        self._session = secrets.token_hex(8)
        will = aiomqtt.Will(
            self.status_topic, self._status("offline"), qos=1, retain=True
        )
        self._requests = Requests(self.counters)
        return connect(self.settings, self.bridge_id, will, self._requests)

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        await client.subscribe(self._subscriptions())
        # Only now what HA retains for us: the hub's key (retained on a topic of the
        # first batch) is known before the messages it signed arrive.
        await client.subscribe(
            hub_subscriptions(self.prefix, self.commands.reply_topic)
        )
        await client.publish(
            self.status_topic, self._status("online"), qos=1, retain=True
        )
        register_topic = f"{self.prefix}/system/discovery/register/{self.bridge_id}"
        registration = new_message(self.bridge_id, "event", self.registration())
        await client.publish(
            register_topic, self.seal(register_topic, registration), qos=1, retain=True
        )
        self.connected.set()
        _LOGGER.info(
            "Bridge %s serving %s/voice/... on %s:%s",
            self.bridge_id, self.prefix, self.settings.mqtt_host, self.settings.mqtt_port,
        )  # fmt: skip

    def _subscriptions(self) -> list[tuple[str, int]]:
        return subscriptions(self.prefix, self.settings.bridge_share_group)

    def registration(self) -> dict[str, Any]:
        """The bridge's capability document."""
        return registration(
            self.bridge_id, self.engines, self.settings, self.key.public_key
        )

    async def _on_message(self, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        payload = message.payload
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        kind = kind_of(topic, self.prefix)
        if kind is Kind.HA_STATE and not (
            raw and is_entity_id(topic.rsplit("/", 1)[-1])
        ):
            # An empty retained message clears the broker's copy, but carries no
            # signature: anyone can send one. HA's signed tombstone removes an entity.
            _LOGGER.debug("Ignored %s: not a state", bounded(topic))
            return
        try:
            request = parse(topic, raw, self.prefix)
        except ProtocolError as err:
            self.counters.reject(err.code)
            await self._reply_error(topic, kind, err.envelope, err.code, str(err))
            return
        if kind in (Kind.SECURITY_HUB, Kind.SECURITY_TRUST):
            first_key = self.trust.hub_key is None
            try:
                self.trust.take(request, bool(message.retain))
            except (SecurityError, ValueError) as err:
                self.counters.reject(getattr(err, "code", "invalid_field"))
                retained = bool(message.retain)
                if self.trust.refused(kind, topic, err, retained) and self._client:
                    await self._client.subscribe(topic, qos=1)  # its kept copy again
                return
            if first_key and self.trust.hub_key is not None and self._client:
                await hear_hub_again(self._client, self.prefix)
            return
        try:
            verdict = self.trust.check(request, bool(message.retain))
        except SecurityError as err:
            if err.code in RETRY_CODES and self._is_retry(request):
                await self.answering.repeat(request)
                return
            self.counters.reject(err.code)
            if err.code in ("replayed", "rate_limited"):
                return  # the first copy was served; a flood gets no answers
            if kind in self.requests.handlers:
                await self._reply_error(topic, kind, request.raw, err.code, str(err))
            elif self.trust.limiter.allow(REFUSALS):
                # HA's, under a key not pinned: the heartbeat and HA's repair say it once.
                stale_pin = request.source == HUB_SOURCE and self.trust.refused_hub_key
                _LOGGER.log(
                    logging.DEBUG if stale_pin else logging.WARNING,
                    "Refused message on %s: %s (%s)", topic, err, err.code,
                )  # fmt: skip
            return
        if kind in self._from_hub:
            if request.source != HUB_SOURCE or not (
                verdict.verified or self.trust.mode is Mode.OFF
            ):
                # Only Home Assistant says what the speech-to-text should expect,
                # what the home's state is, and what became of a command.
                self.counters.reject("not_hub")
                _LOGGER.warning(
                    "Ignored %s from %s: only Home Assistant, signed with its key, "
                    "may send it", topic, request.source,
                )  # fmt: skip
                return
            self._from_hub[kind](request)
            return
        may_act = self.trust.may_act(request.source, verdict)
        area = self.trust.area_of(request.source) if may_act else None
        key = self.trust.verified_key(request.source, verdict)
        authority = Authority(request.source, may_act, area, key)
        await self._serve(request, authority, len(raw))

    def _is_retry(self, request: Envelope) -> bool:
        """A signed request whose answer is kept, sent again by its sender: a retry."""
        return self.answering.kept_for(request) and self.trust.authentic(
            request.topic, request.raw
        )

    def _own_message(self, topic: str, raw: dict[str, Any] | None) -> bool:
        """Whether a message is its sender's: signed by its key, or from an id without one."""
        source = (raw or {}).get("source")
        if raw is None or not isinstance(source, str) or not is_identifier(source):
            return False
        return self.trust.key_of(source) is None or self.trust.authentic(topic, raw)

    def _take_vocabulary(self, message: Envelope) -> None:
        vocabulary = Vocabulary.parse(message.payload)  # parse() checked it already
        learn_home(self.engines, vocabulary)
        _LOGGER.info("STT vocabulary: %s", vocabulary.summary)

    def _take_state(self, message: Envelope) -> None:
        entity_id = message.topic.rsplit("/", 1)[-1]
        try:
            if not self.home.update(
                entity_id, HaState.parse(message.payload), message.timestamp
            ):
                # A retained state older than the one held, published again.
                self.counters.reject("stale")
                _LOGGER.warning("Ignored an older state of %s", entity_id)
                return
            _LOGGER.debug("State of %s: %s", entity_id, message.payload.get("state"))
        except ProtocolError as err:
            self.counters.reject(err.code)
            _LOGGER.warning("Ignored state on %s: %s", message.topic, err)

    async def _serve(self, request: Envelope, authority: Authority, size: int) -> None:
        if request.kind not in self.requests.handlers:
            return
        if self.answering.seen(request):
            # QoS 1 may deliver twice, and requesters re-send until answered.
            await self.answering.repeat(request)
            return
        if datetime.now(UTC) - request.timestamp > REQUEST_MAX_AGE:
            self.counters.reject("expired")
            await self._reply_error(
                request.topic, request.kind, request.raw, "failed", "request expired"
            )
            return
        await self.answering.serve(request, authority, size)

    async def _reply_error(
        self,
        topic: str,
        kind: Kind | None,
        raw: dict[str, Any] | None,
        code: str,
        text: str,
    ) -> None:
        """Answer the sender if the message got that far and is its own, else system/errors."""
        if not self.trust.limiter.allow(REFUSALS):
            # A flood of refused messages, under as many sender ids as it likes, gets
            # counted, not an answer (or a log line) each.
            self.counters.reject("rate_limited")
            return
        text = bounded(text)
        _LOGGER.warning("Rejected message on %s: %s (%s)", topic, text, code)
        # Into a sender's namespace only if it is who it says, or has no key to
        # protect: else anyone could have the bridge sign a failure, under a
        # victim's message id, where the victim waits for its answer.
        answerable = kind in self.requests.handlers and self._own_message(topic, raw)
        target, message = error_reply(
            self.bridge_id, self.prefix, topic,
            answerable=answerable, raw=raw, code=code, text=text,
        )  # fmt: skip
        await self._publish(target, message)

    async def _heartbeats(self) -> None:
        topic = f"{self.prefix}/system/health/heartbeat"
        while True:
            # The Wyoming server's self-check first (at most PROBE_SECONDS).
            listening = await self.probe() if self.probe is not None else True
            document = self.health(listening)
            await self._publish(
                topic, new_message(self.bridge_id, "event", document), qos=0
            )
            await asyncio.sleep(self.settings.bridge_heartbeat_interval)

    def health(self, listening: bool = True) -> dict[str, Any]:
        """The health document for this interval (and reset the interval's figures)."""
        engines_ready = self.engines.stt.load_error is None and bool(
            self.engines.tts.voices
        )
        return self.report.document(
            self.bridge_id, self.settings.bridge_heartbeat_interval, engines_ready,
            listening=listening, hub_key=self.trust.accepted_hub_key,
            hub_key_refused=self.trust.refused_hub_key is not None,
        )  # fmt: skip
