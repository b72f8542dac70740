"""A simulated Assist satellite on the bus: it speaks a clip in real time, plays the answer, times it.

    python -m wyoming_services.sim_satellite --mqtt-host 127.0.0.1 --speak clip.wav
    python -m wyoming_services.sim_satellite --mqtt-host 127.0.0.1 --clip clip.wav

With --clip it says the clip when its *Trigger* button is pressed in HA, or HA asks it to listen.

It signs every message with its own key (approve it in Home Assistant, comparing
the fingerprint it prints), obeys only events signed by Home Assistant's key (pinned
from alicia/system/security/hub), and follows docs/protocol.md's *Satellites*.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import logging
from pathlib import Path
import sys
import time
from typing import Any
import uuid

import aiomqtt

from alicia_bus.envelope import new_message, parse
from alicia_bus.errors import ProtocolError, SecurityError
from alicia_bus.limits import ReplayWindow
from alicia_bus.policy import Mode, check
from alicia_bus.satellite import (
    BYTES_PER_SECOND,
    MICROPHONE,
    EventType,
    SatelliteAudio,
    SatelliteEvent,
    SatelliteRun,
    StartStage,
)
from alicia_bus.signing import KeyPair, verify
from alicia_bus.speaker import PLAYBACK
from alicia_bus.topics import HUB_SOURCE

from .sim_io import MAX_ANSWER_BYTES, fetch_url, load_key, read_clip

_LOGGER = logging.getLogger(__name__)
# 20 ms chunks, sent as a microphone delivers them.
CHUNK_SECONDS = 0.02
# Runs it opens by itself, one after another, when HA asks it to listen (an agent
# that always asks back would otherwise keep it talking): reset by a press or an
# announcement. And the turns it remembers (what a test or a bench reads back).
MAX_FOLLOW_UPS = 2
MAX_TURNS = 16
# The capability HA shows as a button (button.py's "trigger"): pressed, it says its clip.
TRIGGER = "trigger"

type Fetch = Callable[[str], AsyncIterator[bytes]]


def document(
    device_id: str, key: KeyPair, location: str = "living_room", button: bool = False
) -> dict[str, Any]:
    """A satellite's capability document: it hears and it plays (and has a button to speak)."""
    return {
        "device_id": device_id, "device_type": "speaker", "name": "Simulated satellite",
        "capabilities": [MICROPHONE, PLAYBACK, *([TRIGGER] if button else [])],
        "metadata": {"manufacturer": "Alicia simulator", "model": "Satellite",
                     "location": location, "version": "1.0.0"},
        "heartbeat_interval": 10, "public_key": key.public_key,
    }  # fmt: skip


@dataclass
class Turn:
    """One spoken command: the events HA sent, when, and what came back to play."""

    run_id: str
    started: float
    events: list[SatelliteEvent] = field(default_factory=list)
    # Seconds from the end of the clip (the end of speech) to each event type, first seen.
    after_speech: dict[str, float] = field(default_factory=dict)
    answer: bytes = b""
    # Seconds from the end of speech to the answer's first byte.
    first_audio: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def types(self) -> list[str]:
        """The event types in order."""
        return [str(e.type) for e in self.events]


class SimulatedSatellite:
    """One satellite with its own connection; `speak()` runs a turn."""

    def __init__(
        self,
        client: aiomqtt.Client,
        key: KeyPair | None = None,
        device_id: str = "sim_satellite",
        prefix: str = "alicia",
        fetch: Fetch = fetch_url,
        *,
        clip: bytes | None = None,
    ) -> None:
        """On a connected client (a new key if none); call start() before speak().

        clip: what it says when its button is pressed (declared only with a clip), and
        when HA asks it to listen; `reply`, if set, is said then instead.
        """
        self.client, self.device_id = client, device_id
        self.key = key or KeyPair.generate()
        self.prefix, self.fetch = prefix, fetch
        self.clip: bytes | None = clip
        self.reply: bytes | None = None
        self.hub_key: str | None = None
        self.hub_known = asyncio.Event()
        self.turns: dict[str, Turn] = {}
        # HA's messages are refused when old or seen before: anyone on the broker
        # may record one and send it again.
        self.window = ReplayWindow()
        self.follow_ups = 0
        self.announced: list[SatelliteEvent] = []
        self._speech_ended: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def topic(self, leaf: str) -> str:
        """alicia/devices/{id}/satellite/{leaf}."""
        return f"{self.prefix}/devices/{self.device_id}/satellite/{leaf}"

    async def send(
        self, topic: str, payload: dict[str, Any], retain: bool = False
    ) -> None:
        """Publish signed, as this device."""
        message = new_message(self.device_id, "event", payload)
        await self.client.publish(
            topic, self.key.seal(topic, message), qos=1, retain=retain
        )

    @property
    def command_topic(self) -> str:
        """alicia/devices/{id}/command: its button's presses."""
        return f"{self.prefix}/devices/{self.device_id}/command"

    async def start(self, location: str = "living_room") -> None:
        """Subscribe, register (retained) and say online."""
        await self.client.subscribe(f"{self.prefix}/system/security/hub", qos=1)
        await self.client.subscribe(self.topic("event"), qos=1)
        if self.clip is not None:
            await self.client.subscribe(self.command_topic, qos=1)
        registration = f"{self.prefix}/system/discovery/register/{self.device_id}"
        sent = document(self.device_id, self.key, location, self.clip is not None)
        await self.send(registration, sent, True)
        await self.send(
            f"{self.prefix}/devices/{self.device_id}/status", {"state": "online"}, True
        )

    async def heartbeat(self) -> None:
        """One heartbeat."""
        await self.send(f"{self.prefix}/system/health/heartbeat",
                        {"device_id": self.device_id, "status": "healthy", "interval": 10})  # fmt: skip

    def take(self, topic: str, raw: bytes) -> None:
        """A message from the broker: HA's key (pinned once), or a new message it signed."""
        try:
            envelope = parse(topic, raw, self.prefix)
            if topic.endswith("/system/security/hub"):
                if self.hub_key is None and envelope.source == HUB_SOURCE:
                    key = envelope.payload["public_key"]
                    verify(topic, envelope.raw, key)  # self-signed
                    self.hub_key = key
                    self.hub_known.set()
                return
            if self.hub_key is None or envelope.source != HUB_SOURCE:
                return
            check(
                topic, envelope.raw, mode=Mode.ENFORCE, key=self.hub_key,
                window=self.window, sent=envelope.timestamp, now=datetime.now(UTC),
            )  # fmt: skip
            if topic == self.command_topic:
                self._on_command(envelope.payload)
                return
            event = SatelliteEvent.parse(envelope.payload)
        except (ValueError, KeyError, TypeError, ProtocolError, SecurityError) as err:
            _LOGGER.warning(
                "%s: ignoring a message on %s (%s)", self.device_id, topic, err
            )
            return
        self._on_event(event)

    def _on_command(self, payload: dict[str, Any]) -> None:
        if payload.get("capability") == TRIGGER and self.clip is not None:
            self.follow_ups = 0
            self._later(self._say(self.clip))  # pressed: its button's one action

    async def _say(self, pcm: bytes) -> None:
        """A turn of its own (pressed, or asked to listen), logged as --speak prints it."""
        try:
            turn = await self.speak(pcm)
        except TimeoutError:
            _LOGGER.warning("%s: no answer to its command", self.device_id)
            return
        _LOGGER.info("%s said its clip: %s", self.device_id, json.dumps(
            {"events": turn.types(), "first_audio": turn.first_audio}))  # fmt: skip

    def _listen(self) -> None:
        """HA asked it to listen: a new run at stt, saying its reply (quiet if it has none)."""
        if self.follow_ups >= MAX_FOLLOW_UPS:
            _LOGGER.info("%s: asked to listen again; waits for a press", self.device_id)
            return
        self.follow_ups += 1
        self._later(self._say(self.reply or self.clip or bytes(BYTES_PER_SECOND)))

    async def _after(self, turn: Turn) -> None:
        await turn.done.wait()  # the answer played
        self._listen()

    def _on_event(self, event: SatelliteEvent) -> None:
        if event.type is EventType.CONFIGURE:
            _LOGGER.info("%s listens for %s", self.device_id, event.wake_words)
            return
        if event.type is EventType.ANNOUNCE:
            self.follow_ups = 0
            self.announced = [*self.announced[-(MAX_TURNS - 1) :], event]
            self._later(self._announce(event))
            return
        turn = self.turns.get(event.run_id)
        if turn is None:
            return
        turn.events.append(event)
        if (ended := self._speech_ended.get(event.run_id)) is not None:
            turn.after_speech.setdefault(str(event.type), time.monotonic() - ended)
        if event.type is EventType.PLAY and event.url:
            self._later(self._play(turn, event.url))
        elif (
            event.type in (EventType.END, EventType.ERROR)
            and "play" not in turn.types()
        ):
            turn.done.set()
        if event.type is EventType.END and event.listen:
            self._later(self._after(turn))

    def _later(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _play(self, turn: Turn, url: str) -> None:
        answer = bytearray()
        try:
            async for block in self.fetch(url):
                if not answer and block:
                    turn.first_audio = (
                        time.monotonic() - self._speech_ended[turn.run_id]
                    )
                answer += block[: MAX_ANSWER_BYTES - len(answer)]
        except (OSError, ValueError) as err:
            _LOGGER.warning("%s: cannot fetch %s (%s)", self.device_id, url[:80], err)
        turn.answer = bytes(answer)
        await self.send(self.topic("played"), {"run_id": turn.run_id})
        turn.done.set()

    async def _announce(self, event: SatelliteEvent) -> None:
        for url in (event.preannounce_url, event.url):
            if url:
                with contextlib.suppress(OSError, ValueError):
                    async for _ in self.fetch(url):
                        pass
        await self.send(self.topic("played"), {"run_id": event.run_id})
        if event.listen:
            self._listen()

    async def speak(
        self,
        pcm: bytes,
        *,
        answer_within: float = 60.0,
        wake_word: str | None = None,
        speech_ends: float | None = None,
    ) -> Turn:
        """Open a run, stream pcm (16 kHz 16-bit mono) in real time, then wait for the answer.

        speech_ends: the seconds into pcm where the speech ends (default: its end); times
        are from then. The stream stops early once HA has heard the end of speech.
        """
        run_id = uuid.uuid4().hex
        turn = self.turns[run_id] = Turn(run_id, time.monotonic())
        while len(self.turns) > MAX_TURNS:
            oldest = next(iter(self.turns))
            del self.turns[oldest]
            self._speech_ended.pop(oldest, None)
        if speech_ends is None:
            speech_ends = len(pcm) / BYTES_PER_SECOND
        self._speech_ended[run_id] = turn.started + speech_ends
        await self.send(
            self.topic("run"), SatelliteRun(run_id, StartStage.STT, wake_word).payload()
        )
        step = int(BYTES_PER_SECOND * CHUNK_SECONDS)
        chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)] or [b""]
        for seq, chunk in enumerate(chunks):
            last = seq == len(chunks) - 1
            if "heard" in turn.types():
                last = True  # HA heard the end of speech: stop streaming
            await self.send(
                self.topic("audio"), SatelliteAudio(run_id, seq, chunk, last).payload()
            )
            if last:
                break
            # In real time: chunk seq+1 is due when seq+1 chunks have been captured.
            await asyncio.sleep(
                max(0.0, turn.started + (seq + 1) * CHUNK_SECONDS - time.monotonic())
            )
        async with asyncio.timeout(answer_within):
            await turn.done.wait()
        return turn


async def _run(args: argparse.Namespace) -> None:
    key = load_key(Path(args.key_file or f"{args.device_id}.pem"))
    print(f"{args.device_id}: key fingerprint {key.fingerprint}", file=sys.stderr)
    async with aiomqtt.Client(args.mqtt_host, args.mqtt_port) as client:
        clip = read_clip(Path(args.clip)) if args.clip else None
        satellite = SimulatedSatellite(
            client, key, args.device_id, args.topic_prefix, clip=clip
        )

        async def listen() -> None:
            async for message in client.messages:
                satellite.take(str(message.topic), bytes(message.payload))

        listener = asyncio.create_task(listen())
        await satellite.start()
        await satellite.heartbeat()
        if args.speak:
            async with asyncio.timeout(10):  # HA's key arrives retained
                await satellite.hub_known.wait()
            await asyncio.sleep(1)  # approved (if HA approves new devices at once)
            turn = await satellite.speak(read_clip(Path(args.speak)))
            print(json.dumps({"events": turn.types(), "after_speech": turn.after_speech,
                              "first_audio": turn.first_audio, "answer_bytes": len(turn.answer)}))  # fmt: skip
        else:
            while True:
                await asyncio.sleep(10)
                await satellite.heartbeat()
        listener.cancel()


def main(argv: list[str] | None = None) -> int:
    """`python -m wyoming_services.sim_satellite [--speak clip.wav]`."""
    parser = argparse.ArgumentParser(
        prog="python -m wyoming_services.sim_satellite", description=__doc__
    )
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--topic-prefix", default="alicia")
    parser.add_argument("--device-id", default="sim_satellite")
    parser.add_argument(
        "--key-file", help="its key (default: DEVICE_ID.pem, made once)"
    )
    parser.add_argument(
        "--speak", help="a 16 kHz 16-bit mono WAV to say once, then exit"
    )
    parser.add_argument(
        "--clip",
        help="a 16 kHz 16-bit mono WAV said when its Trigger button is pressed in "
        "HA and when HA asks it to listen",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
