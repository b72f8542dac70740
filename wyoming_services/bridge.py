"""The bridge between the MQTT broker and the alicia bus's voice topics (docs/protocol.md)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import logging
import os
from pathlib import Path
import re
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from . import __version__
from .audio import PcmFormat
from .grok import GrokFailure
from .protocol import (
    Envelope,
    ProtocolError,
    decode_audio,
    encode_audio,
    envelope,
    error_payload,
    parse,
    topic_kind,
)
from .security import (
    KeyPair,
    Mode,
    RateLimiter,
    ReplayGuard,
    SecurityError,
    check,
    fingerprint,
    verify,
)
from .settings import Settings
from .stt import SttError, SttSession
from .tts import TextStream, TtsError

if TYPE_CHECKING:
    from .server import Engines

_LOGGER = logging.getLogger(__name__)
REQUEST_MAX_AGE = timedelta(seconds=120)
SEEN_IDS = 10_000
HUB_SOURCE = "home-assistant"


class RequestFailed(Exception):
    """A valid request that could not be served; the text goes into the error response."""


@dataclass(slots=True)
class BridgeCounters:
    """Totals since start, and the current heartbeat interval's figures."""

    requests: int = 0
    errors: int = 0
    rejected: int = 0
    duplicates: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    window_requests: int = 0
    window_errors: int = 0
    window_time: float = 0.0

    def reject(self, code: str) -> None:
        """Count a message refused for breaking the protocol."""
        self.rejected += 1
        self.by_code[code] = self.by_code.get(code, 0) + 1


def default_bridge_id() -> str:
    """alicia-voice-<host name>, in the id alphabet."""
    host = re.sub(r"[^a-z0-9_-]+", "-", socket.gethostname().lower()).strip("-")
    return f"alicia-voice-{host}"[:64]


class Bridge:
    """Serves the voice request topics with the server's engines, and reports its health."""

    def __init__(self, settings: Settings, engines: Engines) -> None:
        """Nothing connects until run()."""
        self.settings = settings
        self.engines = engines
        self.prefix = settings.mqtt_topic_prefix
        self.bridge_id = settings.bridge_id or default_bridge_id()
        self.counters = BridgeCounters()
        self.connected = asyncio.Event()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._slots = asyncio.Semaphore(settings.bridge_max_concurrent)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: aiomqtt.Client | None = None
        self._cpu_mark = (time.monotonic(), sum(os.times()[:2]))
        key_file = Path(
            settings.security_key_file
            or Path.home() / ".local/share/alicia" / f"{self.bridge_id}.pem"
        )
        self.key = KeyPair.load_or_create(key_file)
        # The hub's key is pinned on first sight (or by setting), like an SSH host key.
        self._hub_key_file = key_file.with_suffix(".hub")
        self.hub_key: str | None = (
            self._hub_key_file.read_text().strip()
            if self._hub_key_file.exists()
            else None
        )
        self.mode = Mode(settings.security_mode)
        self.trusted: dict[str, str] = {}
        self._trust_time: datetime | None = None
        self.replay = ReplayGuard()
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
        self._handlers: dict[str, Callable[[Envelope], Awaitable[dict[str, Any]]]] = {
            "stt_request": self._stt,
            "ai_request": self._ai,
            "tts_request": self._tts,
            "route": self._route,
        }

    @property
    def status_topic(self) -> str:
        """Retained availability; the broker publishes 'offline' there as our will."""
        return f"{self.prefix}/devices/{self.bridge_id}/status"

    def _status(self, state: str) -> bytes:
        message = envelope(self.bridge_id, "event", {"state": state})
        return self.seal(self.status_topic, message)

    def seal(self, topic: str, message: dict[str, Any]) -> bytes:
        """A message of ours, signed for topic (docs/security.md)."""
        if self.mode is Mode.OFF:
            return json.dumps(message).encode()
        return self.key.seal(topic, message)

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff whenever the broker goes away."""
        backoff = 0.5
        while True:
            try:
                async with self._connect() as client:
                    self._client = client
                    backoff = 0.5
                    await self._on_connect(client)
                    heartbeat = asyncio.create_task(self._heartbeats(client))
                    try:
                        async for message in client.messages:
                            self._spawn(self._on_message(client, message))
                    except asyncio.CancelledError:
                        # Stopping on purpose: say so, since no will is sent on a clean exit.
                        await client.publish(
                            self.status_topic,
                            self._status("offline"),
                            qos=1,
                            retain=True,
                        )
                        raise
                    finally:
                        heartbeat.cancel()
                        self.connected.clear()
            except aiomqtt.MqttError as err:
                _LOGGER.warning(
                    "MQTT broker %s:%s unavailable (%s); retrying in %.1f s",
                    self.settings.mqtt_host,
                    self.settings.mqtt_port,
                    err,
                    backoff,
                )
            self._client = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    def _connect(self) -> aiomqtt.Client:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # A session that outlives a broker restart keeps the shared subscriptions
        # and the QoS 1 requests that arrive while we reconnect.
        properties.SessionExpiryInterval = 3600
        tls: ssl.SSLContext | None = None
        if self.settings.mqtt_tls:
            tls = ssl.create_default_context(cafile=self.settings.mqtt_ca_certs or None)
        return aiomqtt.Client(
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            username=self.settings.mqtt_username or None,
            password=self.settings.mqtt_password or None,
            identifier=self.bridge_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=properties,
            will=aiomqtt.Will(
                self.status_topic, self._status("offline"), qos=1, retain=True
            ),
            tls_context=tls,
            keepalive=30,
            # Small request/response messages: Nagle's algorithm with delayed ACKs
            # added ~40 ms per hop (measured in bench/bus.py).
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        share = f"$share/{self.settings.bridge_share_group}/{self.prefix}"
        await client.subscribe(
            [
                (f"{share}/voice/stt/request", 1),
                (f"{share}/voice/ai/request", 1),
                (f"{share}/voice/tts/request", 1),
                (f"{share}/voice/command/route", 1),
                (f"{self.prefix}/voice/stt/vocabulary", 1),
                (f"{self.prefix}/system/security/hub", 1),
                (f"{self.prefix}/system/security/trust", 1),
            ]
        )
        await client.publish(
            self.status_topic, self._status("online"), qos=1, retain=True
        )
        register_topic = f"{self.prefix}/system/discovery/register/{self.bridge_id}"
        await client.publish(
            register_topic,
            self.seal(
                register_topic, envelope(self.bridge_id, "event", self.registration())
            ),
            qos=1,
            retain=True,
        )
        self.connected.set()
        _LOGGER.info(
            "Bridge %s serving %s/voice/... on %s:%s",
            self.bridge_id,
            self.prefix,
            self.settings.mqtt_host,
            self.settings.mqtt_port,
        )

    def registration(self) -> dict[str, Any]:
        """The bridge's capability document."""
        stt, tts, grok = self.engines.stt, self.engines.tts, self.engines.grok
        return {
            "device_id": self.bridge_id,
            "device_type": "service",
            "name": "Alicia voice services",
            "capabilities": [
                {
                    "name": "stt",
                    "version": "1.0.0",
                    "parameters": {"model": stt.model_name, "languages": stt.languages},
                },
                {
                    "name": "tts",
                    "version": "1.0.0",
                    "parameters": {"voices": list(tts.voices)},
                },
                {
                    "name": "ai",
                    "version": "1.0.0",
                    "parameters": {"model": grok.model, "languages": grok.languages},
                },
            ],
            "metadata": {
                "manufacturer": "Alicia",
                "model": "Voice services",
                "version": __version__,
            },
            "heartbeat_interval": self.settings.bridge_heartbeat_interval,
            "public_key": self.key.public_key,
        }

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_message(
        self, client: aiomqtt.Client, message: aiomqtt.Message
    ) -> None:
        topic = str(message.topic)
        raw = (
            message.payload
            if isinstance(message.payload, bytes)
            else str(message.payload).encode()
        )
        kind = topic_kind(topic, self.prefix)
        try:
            request = parse(topic, raw, self.prefix)
        except ProtocolError as err:
            self.counters.reject(err.code)
            if not self.limiter.allow("\x00invalid"):
                # A flood of garbage gets counted, not an answer each.
                self.counters.reject("rate_limited")
                return
            await self._reply_error(
                client,
                topic=topic,
                kind=kind,
                raw=err.envelope,
                code=err.code,
                text=str(err),
            )
            return
        if not self.limiter.allow(request.source):
            self.counters.reject("rate_limited")
            return
        if kind in ("security_hub", "security_trust"):
            self._take_security(kind, request)
            return
        key = (
            self.hub_key
            if request.source == HUB_SOURCE
            else self.trusted.get(request.source)
        )
        try:
            check(
                topic, request.raw, mode=self.mode, key=key, guard=self.replay,
                sent=request.timestamp, now=datetime.now(UTC), retained=bool(message.retain),
            )  # fmt: skip
        except SecurityError as err:
            self.counters.reject(err.code)
            if err.code == "replayed":
                return  # the first copy was served
            if kind in self._handlers:
                await self._reply_error(
                    client,
                    topic=topic,
                    kind=kind,
                    raw=request.raw,
                    code=err.code,
                    text=str(err),
                )
            else:
                _LOGGER.warning("Refused message on %s: %s (%s)", topic, err, err.code)
            return
        if kind == "vocabulary":
            self.engines.stt.set_vocabulary(request.payload["phrases"])
            _LOGGER.info("STT vocabulary: %d phrases", len(self.engines.stt.vocabulary))
            return
        if self._seen_before(request.message_id):
            self.counters.duplicates += 1
            return
        if datetime.now(UTC) - request.timestamp > REQUEST_MAX_AGE:
            self.counters.reject("expired")
            await self._reply_error(
                client,
                topic=topic,
                kind=kind,
                raw=request.raw,
                code="failed",
                text="request expired",
            )
            return
        handler = self._handlers.get(kind or "")
        if handler is None:
            return
        async with self._slots:
            started = time.perf_counter()
            self.counters.requests += 1
            self.counters.window_requests += 1
            try:
                payload = await handler(request)
            except ProtocolError as err:
                self.counters.reject(err.code)
                payload = error_payload(err.code, str(err))
            except (RequestFailed, SttError, TtsError) as err:
                payload = error_payload("failed", str(err))
            self.counters.window_time += time.perf_counter() - started
            if "error" in payload:
                self.counters.errors += 1
                self.counters.window_errors += 1
                _LOGGER.warning(
                    "Request %s on %s failed: %s",
                    request.message_id,
                    topic,
                    payload["error"]["message"],
                )
            await self._respond(client, request, payload)

    def _take_security(self, kind: str, message: Envelope) -> None:
        """The hub's key (pinned on first sight) and its signed list of approved keys."""
        payload = message.payload
        try:
            if kind == "security_hub":
                offered = str(payload.get("public_key"))
                verify(
                    message.topic, message.raw, offered
                )  # it holds the key it offers
                if self.hub_key is None:
                    pin = self.settings.hub_key_fingerprint
                    if pin and fingerprint(offered) != pin:
                        raise SecurityError("untrusted", f"hub key is not {pin}")
                    self.hub_key = offered
                    self._hub_key_file.write_text(offered + "\n")
                    _LOGGER.info(
                        "Trusting Home Assistant's key %s", fingerprint(offered)
                    )
                elif offered != self.hub_key:
                    raise SecurityError(
                        "key_changed",
                        f"Home Assistant's key changed to {fingerprint(offered)}; "
                        f"delete {self._hub_key_file} to trust it",
                    )
                return
            if self.hub_key is None:
                raise SecurityError("untrusted", "trust list before the hub's key")
            verify(message.topic, message.raw, self.hub_key)
            if self._trust_time is not None and message.timestamp <= self._trust_time:
                return  # an older list, replayed: keep the newer one
            devices = payload.get("devices")
            if not isinstance(devices, dict):
                raise SecurityError("bad_signature", "trust list without devices")
            self.mode = Mode(payload.get("mode", self.mode))
            self.trusted = {str(k): str(v) for k, v in devices.items()}
            self._trust_time = message.timestamp
            _LOGGER.info(
                "Security mode %s; %d approved device keys",
                self.mode,
                len(self.trusted),
            )
        except (SecurityError, ValueError) as err:
            self.counters.reject(getattr(err, "code", "invalid_field"))
            _LOGGER.warning("Ignored %s: %s", message.topic, err)

    def _seen_before(self, message_id: str) -> bool:
        """QoS 1 may deliver twice: a message id is served once."""
        if message_id in self._seen:
            return True
        self._seen[message_id] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        return False

    def _response_topic(self, topic: str) -> str:
        return topic.rsplit("/", 1)[0] + "/response"

    async def _respond(
        self, client: aiomqtt.Client, request: Envelope, payload: dict[str, Any]
    ) -> None:
        message = envelope(
            self.bridge_id, "response", payload,
            destination=request.source, correlation_id=request.message_id,
        )  # fmt: skip
        topic = request.reply_to or self._response_topic(request.topic)
        await client.publish(topic, self.seal(topic, message), qos=1)

    async def _reply_error(
        self,
        client: aiomqtt.Client,
        *,
        topic: str,
        kind: str | None,
        raw: dict[str, Any] | None,
        code: str,
        text: str,
    ) -> None:
        """Answer the sender if the message got that far, else the errors topic."""
        _LOGGER.warning("Rejected message on %s: %s (%s)", topic, text, code)
        message_id = raw.get("message_id") if raw else None
        reply_to = raw.get("reply_to") if raw else None
        valid_reply = (
            isinstance(reply_to, str)
            and reply_to.startswith(f"{self.prefix}/")
            and not set(reply_to) & set("+#")
        )
        payload = error_payload(code, text) | {"topic": topic}
        if isinstance(message_id, str) and kind in self._handlers:
            target = str(reply_to) if valid_reply else self._response_topic(topic)
            correlation = message_id
        else:
            target, correlation = (
                f"{self.prefix}/system/errors",
                message_id if isinstance(message_id, str) else "unknown",
            )
        message = envelope(
            self.bridge_id, "response", payload, correlation_id=correlation
        )
        await client.publish(target, self.seal(target, message), qos=1)

    async def _stt(self, request: Envelope) -> dict[str, Any]:
        text, language, _ = await self._transcribe(request)
        return {"text": text, "language": language}

    async def _transcribe(self, request: Envelope) -> tuple[str, str, float]:
        audio = decode_audio(request.payload["audio"], self.settings.stt_max_seconds)
        stt = self.engines.stt
        language = stt.check_language(request.payload.get("language"))
        started = time.perf_counter()
        session = SttSession(
            stt, PcmFormat(audio.rate, audio.width, audio.channels), language
        )
        session.add_audio(audio.pcm)
        result = await session.finish()
        return result.transcription.text, language, time.perf_counter() - started

    async def _ask(
        self, text: str, language: str | None, conversation_id: str | None
    ) -> str:
        try:
            return "".join(
                [
                    part
                    async for part in self.engines.grok.answer(
                        text, language, conversation_id
                    )
                ]
            )
        except GrokFailure as failure:
            if failure.partial:
                return failure.partial.rstrip() + " ..."
            raise RequestFailed(failure.spoken) from failure

    async def _ai(self, request: Envelope) -> dict[str, Any]:
        payload = request.payload
        answer = await self._ask(
            payload["text"], payload.get("language"), payload.get("conversation_id")
        )
        return {"text": answer}

    async def _speak(self, text: str, voice: str | None = None) -> dict[str, str]:
        info, speaker = self.engines.tts.resolve(voice)
        stream = TextStream(self.settings.tts_max_chars)
        sentences = stream.add(text) + stream.finish()
        pcm = b"".join(
            [
                chunk
                async for chunk in self.engines.tts.synthesize(info, speaker, sentences)
            ]
        )
        return encode_audio(pcm, info.sample_rate)

    async def _tts(self, request: Envelope) -> dict[str, Any]:
        return {
            "audio": await self._speak(
                request.payload["text"], request.payload.get("voice")
            )
        }

    async def _route(self, request: Envelope) -> dict[str, Any]:
        """Audio in, STT, Grok, an announcement on the requester's speaker; timings back."""
        started = time.perf_counter()
        transcript, language, stt_seconds = await self._transcribe(request)
        result: dict[str, Any] = {
            "transcript": transcript,
            "answer": "",
            "language": language,
        }
        timings = {"stt_ms": round(stt_seconds * 1000, 1)}
        if transcript:
            asked = time.perf_counter()
            answer = await self._ask(
                transcript, language, request.payload.get("conversation_id")
            )
            timings["ai_ms"] = round((time.perf_counter() - asked) * 1000, 1)
            result["answer"] = answer
            announcement = envelope(
                self.bridge_id,
                "request",
                {
                    "message": answer,
                    "language": language,
                    "target": {"device_id": request.source},
                },
            )
            assert self._client is not None
            announce_topic = f"{self.prefix}/devices/speakers/announce"
            await self._client.publish(
                announce_topic, self.seal(announce_topic, announcement), qos=1
            )
            result["announcement_id"] = announcement["message_id"]
            if request.payload.get("audio_reply"):
                spoken = time.perf_counter()
                result["audio"] = await self._speak(answer)
                timings["tts_ms"] = round((time.perf_counter() - spoken) * 1000, 1)
        timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result["timings"] = timings
        return result

    async def _heartbeats(self, client: aiomqtt.Client) -> None:
        while True:
            topic = f"{self.prefix}/system/health/heartbeat"
            await client.publish(
                topic,
                self.seal(topic, envelope(self.bridge_id, "event", self.health())),
                qos=0,
            )
            await asyncio.sleep(self.settings.bridge_heartbeat_interval)

    def health(self) -> dict[str, Any]:
        """The health document for this interval (and reset the interval's figures)."""
        now, cpu = time.monotonic(), sum(os.times()[:2])
        then, cpu_then = self._cpu_mark
        self._cpu_mark = (now, cpu)
        cores = os.cpu_count() or 1
        cpu_usage = 100.0 * (cpu - cpu_then) / max(now - then, 1e-6) / cores
        counters = self.counters
        requests = counters.window_requests
        error_rate = counters.window_errors / requests if requests else 0.0
        response_ms = 1000.0 * counters.window_time / requests if requests else 0.0
        counters.window_requests = counters.window_errors = 0
        counters.window_time = 0.0
        unhealthy = (
            self.engines.stt.load_error is not None or not self.engines.tts.voices
        )
        return {
            "service_id": self.bridge_id,
            "status": "unhealthy"
            if unhealthy
            else "degraded"
            if error_rate > 0.5
            else "healthy",
            "interval": self.settings.bridge_heartbeat_interval,
            "metrics": {
                "cpu_usage": round(min(cpu_usage, 100.0), 2),
                "memory_usage": round(_memory_percent(), 2),
                "response_time": round(response_ms, 1),
                "error_rate": round(error_rate, 4),
            },
            "counters": {
                "requests": counters.requests,
                "errors": counters.errors,
                "rejected": counters.rejected,
                "duplicates": counters.duplicates,
                "rejected_by_code": dict(counters.by_code),
            },
            "dependencies": ["mqtt"],
        }


def _memory_percent() -> float:
    """Resident memory of this process, as a percentage of the machine's."""
    try:
        resident_pages = int(open("/proc/self/statm").read().split()[1])  # noqa: SIM115
        total_pages = os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, IndexError):
        return 0.0
    return 100.0 * resident_pages / total_pages
