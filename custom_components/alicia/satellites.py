"""Satellites on the bus: who may open a run and feed it, each run's audio, HA's events back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
import logging
import time
from typing import Protocol

from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.core import callback

from .bus.envelope import Envelope
from .bus.errors import ProtocolError
from .bus.satellite import (
    GAP_SECONDS,
    MICROPHONE,
    AudioStream,
    EventType,
    SatelliteAudio,
    SatelliteEvent,
    SatellitePlayed,
    SatelliteRun,
)
from .bus_link import BusLink
from .context import HubContext
from .device import AliciaDevice
from .tally import Tally

_LOGGER = logging.getLogger(__name__)


class SatelliteListener(Protocol):
    """A satellite entity, as the bus side sees it."""

    async def async_run(self, run: SatelliteRun, audio: AsyncIterator[bytes]) -> None:
        """Run HA's pipeline on the audio."""

    def run_lost(self, run_id: str) -> None:
        """The run's audio was lost or refused: its pipeline stops."""

    def played(self, run_id: str) -> None:
        """The device finished playing what run_id named."""


@dataclass(slots=True)
class LiveRun:
    """One open run: its stream's bounds, and its audio for the pipeline."""

    stream: AudioStream
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)

    async def audio(self, lost: Callable[[str], None]) -> AsyncIterator[bytes]:
        """The chunks as they come; lost('audio_timeout') after GAP_SECONDS without one."""
        while True:
            try:
                async with asyncio.timeout(GAP_SECONDS):
                    pcm = await self.queue.get()
            except TimeoutError:
                lost("audio_timeout")
                return
            if pcm is None:
                return
            yield pcm


def is_satellite(device: AliciaDevice) -> bool:
    """A device that hears (microphone) and plays (a speaker): an Assist satellite."""
    record = device.record
    return record.plays_audio and any(c.name == MICROPHONE for c in record.capabilities)


class Satellites:
    """Admits satellite messages before any work, and keeps each device's open run."""

    def __init__(self, hub: HubContext, link: BusLink, tally: Tally) -> None:
        """For one hub; entities add themselves to `listeners`."""
        self.hub = hub
        self.link = link
        self.tally = tally
        self.listeners: dict[str, SatelliteListener] = {}
        self.runs: dict[str, LiveRun] = {}

    def _admit(self, message: ReceiveMessage) -> tuple[Envelope, str] | None:
        """The message and its device if that approved satellite, by its key, sent it."""
        if (read := self.link.read(message)) is None:
            return None
        device_id = message.topic.split("/")[-3]
        device = self.hub.devices.get(device_id)
        if device is None:
            self.link.unknown_sender(message.topic, read)
            return None
        if read.source != device_id:
            # Identity is bound to the topic: no other device, nor its hub, streams here.
            self.tally.counters.collisions += 1
            admission = self.hub.admission
            if self.hub.key_of(read.source) is not None:  # an approved key signed it
                admission.refuse(
                    "collision",
                    read.source,
                    message.topic,
                    "another device's satellite",
                )
            else:  # any id anyone made up: counted, not logged one line per id
                admission.audit.record("collision", read.source, message.topic)
                admission.changed()
            return None
        if not self.hub.may_act(device_id):
            # A pipeline acts on the home: only a device an approved key speaks for opens one.
            self.hub.admission.refuse(
                "unsigned", read.source, message.topic,
                "a satellite needs an approved key",
            )  # fmt: skip
            return None
        if device_id not in self.listeners or not is_satellite(device):
            self.tally.counters.reject("not_a_satellite")
            return None
        return read, device_id

    @callback
    def on_run(self, message: ReceiveMessage) -> None:
        """alicia/devices/{id}/satellite/run: a new run replaces the device's open one."""
        if (admitted := self._admit(message)) is None:
            return
        read, device_id = admitted
        assert isinstance(read.body, SatelliteRun)
        self.close(device_id)
        live = self.runs[device_id] = LiveRun(AudioStream(read.body, time.monotonic()))
        listener = self.listeners[device_id]
        run_id = read.body.run_id

        def lost(code: str) -> None:
            self._lose(device_id, run_id, code)

        # In the background: a run lasts as long as the device speaks (HA's own
        # satellites run theirs so); the entry's unload cancels it.
        self.hub.entry.async_create_background_task(
            self.hub.hass,
            listener.async_run(read.body, live.audio(lost)),
            f"alicia satellite {device_id} run {run_id}",
        )

    @callback
    def on_audio(self, message: ReceiveMessage) -> None:
        """alicia/devices/{id}/satellite/audio: the next chunk of the open run."""
        if (admitted := self._admit(message)) is None:
            return
        read, device_id = admitted
        chunk = read.body
        assert isinstance(chunk, SatelliteAudio)
        live = self.runs.get(device_id)
        if live is None or live.stream.run.run_id != chunk.run_id or live.stream.ended:
            # Late chunks of a run HA has heard enough of: normal, dropped quietly.
            self.tally.counters.reject("no_run")
            return
        try:
            pcm = live.stream.take(chunk, time.monotonic())
        except ProtocolError as err:
            self.hub.admission.refuse(err.code, device_id, message.topic, str(err))
            self._lose(device_id, chunk.run_id, err.code)
            return
        live.queue.put_nowait(pcm)
        if chunk.end:
            live.queue.put_nowait(None)

    @callback
    def on_played(self, message: ReceiveMessage) -> None:
        """alicia/devices/{id}/satellite/played: an answer or announcement was played."""
        if (admitted := self._admit(message)) is None:
            return
        read, device_id = admitted
        assert isinstance(read.body, SatellitePlayed)
        self.listeners[device_id].played(read.body.run_id)

    def _lose(self, device_id: str, run_id: str, code: str) -> None:
        live = self.runs.get(device_id)
        if live is None or live.stream.run.run_id != run_id:
            return
        self.close(device_id)
        self.tally.log_limited(
            f"satellite_{code}", "Satellite %s: run %s ended (%s)", device_id, run_id, code
        )  # fmt: skip
        self.send(device_id, SatelliteEvent(run_id, EventType.ERROR, code=code))
        self.send(device_id, SatelliteEvent(run_id, EventType.END))
        if (listener := self.listeners.get(device_id)) is not None:
            listener.run_lost(run_id)

    def close(self, device_id: str, run_id: str | None = None) -> None:
        """End the device's open run (run_id: only if it is that one)."""
        live = self.runs.get(device_id)
        if live is None or (run_id is not None and live.stream.run.run_id != run_id):
            return
        del self.runs[device_id]
        live.stream.ended = True
        live.queue.put_nowait(None)

    def send(self, device_id: str, event: SatelliteEvent) -> None:
        """Tell the device about its run, signed, on its satellite/event topic."""
        topic = f"{self.hub.prefix}/devices/{device_id}/satellite/event"
        self.hub.hass.async_create_task(
            self.link.async_publish(
                topic, self.link.message(device_id, "event", event.payload())
            ),
            eager_start=True,
        )
