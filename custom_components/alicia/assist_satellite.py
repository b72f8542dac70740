"""Assist satellites: Alicia devices with a microphone and a speaker, HA's pipeline over the bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import logging
from typing import Any
import uuid

from homeassistant.components import assist_pipeline
from homeassistant.components.assist_pipeline import PipelineEvent, PipelineEventType
from homeassistant.components.assist_pipeline.error import PipelineError
from homeassistant.components.assist_satellite import (
    AssistSatelliteAnnouncement,
    AssistSatelliteConfiguration,
    AssistSatelliteEntity,
    AssistSatelliteEntityDescription,
    AssistSatelliteEntityFeature,
    AssistSatelliteWakeWord,
)
from homeassistant.components.media_player import async_process_play_media_url
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .bus.satellite import (
    MICROPHONE,
    EventType,
    SatelliteEvent,
    SatelliteRun,
    StartStage,
    WakeWords,
)
from .const import DOMAIN, SIGNAL_DEVICE_UPDATE
from .device import DeviceRecord
from .entity import AliciaEntity
from .entry_data import AliciaConfigEntry
from .hub import AliciaHub
from .platform import setup_platform
from .satellites import is_satellite

_LOGGER = logging.getLogger(__name__)
PARALLEL_UPDATES = 0

KEY = "assist_satellite"
DESCRIPTION = AssistSatelliteEntityDescription(key=KEY, name=None)
# How long an announcement may play before HA stops waiting for `played`.
ANNOUNCE_SECONDS = 120.0
STAGES = {
    StartStage.WAKE_WORD: assist_pipeline.PipelineStage.WAKE_WORD,
    StartStage.STT: assist_pipeline.PipelineStage.STT,
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A satellite for each device that hears and plays, as such devices are approved."""

    def satellite(hub: AliciaHub, record: DeviceRecord) -> list[Entity]:
        device = hub.roster.devices.get(record.device_id)
        if device is not None and is_satellite(device):
            return [AliciaSatellite(hub, record)]
        registry = er.async_get(hass)
        if old := registry.async_get_entity_id(
            Platform.ASSIST_SATELLITE, DOMAIN, f"{record.device_id}_{KEY}"
        ):
            registry.async_remove(old)
        return []

    setup_platform(
        hass, entry.runtime_data, async_add_entities, (), lambda *_: None,
        extra=satellite,
    )  # fmt: skip


def selects_of(hass: HomeAssistant, device_id: str) -> tuple[str | None, str | None]:
    """The entity ids of a satellite's pipeline and VAD-sensitivity selects."""
    registry = er.async_get(hass)
    return (
        registry.async_get_entity_id("select", DOMAIN, f"{device_id}-pipeline"),
        registry.async_get_entity_id("select", DOMAIN, f"{device_id}-vad_sensitivity"),
    )


class AliciaSatellite(AliciaEntity, AssistSatelliteEntity):
    """A device's satellite: its runs come on the bus, HA's pipeline events go back."""

    entity_description: AssistSatelliteEntityDescription
    _attr_supported_features = (
        AssistSatelliteEntityFeature.ANNOUNCE
        | AssistSatelliteEntityFeature.START_CONVERSATION
    )

    def __init__(self, hub: AliciaHub, record: DeviceRecord) -> None:
        """The device's satellite."""
        AliciaEntity.__init__(self, hub, record, KEY, DESCRIPTION)
        AssistSatelliteEntity.__init__(self)
        self._run_id: str | None = None
        self._answer_sent = False
        self._stream_url: str | None = None
        # The agent asked a question back: the device opens a run when it has played.
        self._listen_after = False
        self._played: dict[str, asyncio.Future[None]] = {}
        # The user's choice among the device's own wake words (none yet: its first).
        self._active_wake_words: list[str] = []
        # The key its runs are verified with: HA's conversation is held under it.
        self._key = hub.roster.key_of(record.device_id)
        # The device it talks through: that one's new key is its own (key_of).
        self._parent: str | None = None
        self._unfollow_parent: CALLBACK_TYPE = lambda: None

    @property
    def pipeline_entity_id(self) -> str | None:
        """The device's pipeline select."""
        return selects_of(self.hass, self.device_id)[0]

    @property
    def vad_sensitivity_entity_id(self) -> str | None:
        """The device's VAD-sensitivity select."""
        return selects_of(self.hass, self.device_id)[1]

    async def async_added_to_hass(self) -> None:
        """Take the device's runs from the bus."""
        await super().async_added_to_hass()
        satellites = self.hub.satellites
        satellites.listeners[self.device_id] = self

        @callback
        def forget() -> None:
            if satellites.listeners.get(self.device_id) is self:
                del satellites.listeners[self.device_id]
            satellites.close(self.device_id)
            self._unfollow_parent()
            # Gone, it hears no `played`: the announcements waiting for one end now.
            for waiting in self._played.values():
                if not waiting.done():
                    waiting.set_result(None)
            self._played.clear()

        self.async_on_remove(forget)
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_DEVICE_UPDATE.format(self.hub.entry.entry_id, self.device_id),
                self._follow_key,
            )
        )
        self._follow_parent()

    @callback
    def _follow_key(self) -> None:
        """A key approved in place of the old one starts a new conversation: its holder reads nothing said under the old.

        Nor hears the end of a run under way: it stops (`key_changed`, then `end`:
        the device goes idle instead of waiting for an answer that never comes).
        """
        self._follow_parent()
        key = self.hub.roster.key_of(self.device_id)
        if key != self._key:
            self._key = key
            self._conversation_id = None
            self._extra_system_prompt = None
            if (run_id := self._run_id) is not None:
                self.hub.satellites.close(self.device_id, run_id)
                self._send(EventType.ERROR, code="key_changed")
                self._send(EventType.END)
                self.run_lost(run_id)

    @callback
    def _follow_parent(self) -> None:
        """Hear the updates of the device it talks through: only that one's are signalled when its key changes."""
        device = self.hub.roster.devices.get(self.device_id)
        parent = device.record.via_device if device is not None else None
        if parent == self._parent:
            return
        self._unfollow_parent()
        self._parent, self._unfollow_parent = parent, lambda: None
        if parent is not None:
            self._unfollow_parent = async_dispatcher_connect(
                self.hass,
                SIGNAL_DEVICE_UPDATE.format(self.hub.entry.entry_id, parent),
                self._follow_key,
            )

    def _wake_words(self) -> WakeWords:
        """The device's own wake words, as its microphone capability offers them."""
        device = self.hub.roster.devices.get(self.device_id)
        record = device.record if device is not None else None
        for capability in record.capabilities if record is not None else ():
            if capability.name == MICROPHONE:
                return WakeWords.of(capability.parameters)
        return WakeWords((), 0)

    def _phrase(self, said: str | None) -> str | None:
        """The wake word a run says it heard, as HA's phrase: only one the device offers.

        HA keeps the time of each phrase's last wake-up, house-wide and for good (to
        drop the same word heard by two satellites): any other text would be a new
        entry each run.
        """
        for word, phrase in self._wake_words().offered if said else ():
            if said in (word, phrase):
                return phrase
        return None

    @callback
    def async_get_configuration(self) -> AssistSatelliteConfiguration:
        """The device's own wake words and those it listens for (HA's pipeline has its own)."""
        words = self._wake_words()
        offered = dict(words.offered)
        active = [word for word in self._active_wake_words if word in offered]
        if not active and offered:
            active = list(offered)[: words.max_active]
        return AssistSatelliteConfiguration(
            available_wake_words=[
                AssistSatelliteWakeWord(id=word, wake_word=phrase, trained_languages=[])
                for word, phrase in words.offered
            ],
            active_wake_words=active,
            max_active_wake_words=words.max_active,
        )

    async def async_set_configuration(
        self, config: AssistSatelliteConfiguration
    ) -> None:
        """Listen for the wake words the user chose: the device is told (`configure`)."""
        words = self._wake_words()
        offered = dict(words.offered)
        chosen = list(dict.fromkeys(config.active_wake_words))
        if len(chosen) > words.max_active or any(w not in offered for w in chosen):
            raise HomeAssistantError(
                f"{self.device_id} listens for at most {words.max_active} of its own "
                f"wake words: {', '.join(offered) or 'it offers none'}"
            )
        self._active_wake_words = chosen
        event = SatelliteEvent(
            uuid.uuid4().hex, EventType.CONFIGURE, wake_words=tuple(chosen)
        )
        self.hub.satellites.send(self.device_id, event)

    async def async_run(self, run: SatelliteRun, audio: AsyncIterator[bytes]) -> None:
        """Run HA's pipeline on a run's audio (satellites.SatelliteListener)."""
        self._follow_key()  # answered under the key that opened it, whatever was signalled
        self._run_id, self._answer_sent, self._stream_url = run.run_id, False, None
        try:
            await self.async_accept_pipeline_from_satellite(
                audio, start_stage=STAGES[run.start_stage],
                wake_word_phrase=self._phrase(run.wake_word),
            )  # fmt: skip
        except asyncio.CancelledError:
            if self._run_id != run.run_id:
                return  # replaced by the device's next run
            raise
        except PipelineError as err:
            # A pipeline HA cannot start (HA 2026.2 raises what newer HA sends as an event).
            self._send(EventType.ERROR, code=err.code, text=err.message)
            self._send(EventType.END)
            self.tts_response_finished()
        finally:
            self.hub.satellites.close(self.device_id, run.run_id)

    @callback
    def run_lost(self, run_id: str) -> None:
        """The run's audio was lost or refused: its pipeline stops, the satellite is idle."""
        if self._run_id != run_id:
            return
        self._run_id = None
        if (task := self._pipeline_task) is not None:
            task.cancel()
        self.tts_response_finished()

    @callback
    def played(self, run_id: str) -> None:
        """The device played the answer or announcement run_id names."""
        if (waiting := self._played.pop(run_id, None)) is not None:
            if not waiting.done():
                waiting.set_result(None)
        elif run_id == self._run_id and self._answer_sent:
            self.tts_response_finished()

    def _send(self, kind: EventType, **fields: Any) -> None:
        if self._run_id is not None:
            event = SatelliteEvent(self._run_id, kind, **fields)
            self.hub.satellites.send(self.device_id, event)

    def _play(self, url: str | None) -> None:
        if url is not None and not self._answer_sent:
            self._answer_sent = True
            self._send(EventType.PLAY, url=async_process_play_media_url(self.hass, url))

    @callback
    def on_pipeline_event(self, event: PipelineEvent) -> None:
        """Tell the device what it needs of its run: listen, stop, play, end."""
        data = event.data or {}
        match event.type:
            case PipelineEventType.RUN_START:
                self._stream_url = (data.get("tts_output") or {}).get("url")
            case PipelineEventType.WAKE_WORD_END if data.get("wake_word_output"):
                self._send(EventType.WAKE_WORD)
            case PipelineEventType.STT_START:
                self._send(EventType.LISTENING)
            case PipelineEventType.STT_VAD_END:
                self._send(EventType.HEARD)
            case PipelineEventType.STT_END:
                if self._run_id is not None:  # what comes after is dropped quietly
                    self.hub.satellites.close(self.device_id, self._run_id)
                self._send(EventType.HEARD)
                text = (data.get("stt_output") or {}).get("text")
                self._send(EventType.TRANSCRIPT, text=text)
            case PipelineEventType.INTENT_START:
                self._send(EventType.PROCESSING)
            case PipelineEventType.INTENT_PROGRESS if data.get("tts_start_streaming"):
                # The answer is spoken while it is written: the device may fetch it now.
                self._play(self._stream_url)
            case PipelineEventType.INTENT_END:
                self._send(EventType.ANSWER, text=_speech(data))
                self._listen_after = bool(
                    (data.get("intent_output") or {}).get("continue_conversation")
                )
            case PipelineEventType.TTS_END:
                self._play((data.get("tts_output") or {}).get("url"))
            case PipelineEventType.ERROR:
                self._send(
                    EventType.ERROR,
                    code=str(data.get("code")),
                    text=data.get("message"),
                )
            case PipelineEventType.RUN_END:
                self._send(EventType.END, listen=self._listen_after)
                self._listen_after = False

    async def async_announce(self, announcement: AssistSatelliteAnnouncement) -> None:
        """Play an announcement (its chime first) on the device; wait until it is played."""
        await self._announce(announcement, listen=False)

    async def async_start_conversation(
        self, start_announcement: AssistSatelliteAnnouncement
    ) -> None:
        """Announce, then the device opens a run to hear the answer."""
        await self._announce(start_announcement, listen=True)

    async def _announce(
        self, announcement: AssistSatelliteAnnouncement, *, listen: bool
    ) -> None:
        run_id = uuid.uuid4().hex
        waiting = self._played[run_id] = self.hass.loop.create_future()
        event = SatelliteEvent(
            run_id, EventType.ANNOUNCE, text=announcement.message or None,
            url=announcement.media_id,
            preannounce_url=announcement.preannounce_media_id, listen=listen,
        )  # fmt: skip
        self.hub.satellites.send(self.device_id, event)
        try:
            async with asyncio.timeout(ANNOUNCE_SECONDS):
                await waiting
        except TimeoutError:
            _LOGGER.warning("%s did not say it played %s", self.device_id, run_id)
        finally:
            self._played.pop(run_id, None)


def _speech(data: dict[str, Any]) -> str | None:
    response = (data.get("intent_output") or {}).get("response") or {}
    with contextlib.suppress(AttributeError):
        speech = response.get("speech", {}).get("plain", {}).get("speech")
        return speech if isinstance(speech, str) else None
    return None
