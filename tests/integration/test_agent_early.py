"""A question spoken through HA's Assist pipeline to the Alicia agent: Grok asked before the turn is over, once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import time
from typing import Any

from homeassistant.components import stt
from homeassistant.components.assist_pipeline import (
    AudioSettings,
    PipelineEvent,
    PipelineEventType,
    PipelineStage,
    async_pipeline_from_audio_stream,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from tests.conftest import ServerProcess
from tests.fake_xai import FakeXai, reply_for
from tests.wyoming.client import synthesize
from tests.wyoming.clips import as_format, trimmed

pytestmark = pytest.mark.slow
AGENT = "conversation.alicia"
RATE = 16000
CHUNK = 640  # 20 ms, as a satellite streams
QUESTION = "What is the capital of France?"
# HA 2026.2 ends the stream with its own VAD (later releases leave it to our server):
# a quiet long enough for a decode on a loaded machine to end inside it.
HA_VAD = AudioSettings(silence_seconds=3.0)
METADATA = stt.SpeechMetadata(
    language="en", format=stt.AudioFormats.WAV, codec=stt.AudioCodecs.PCM,
    bit_rate=stt.AudioBitRates.BITRATE_16, sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
    channel=stt.AudioChannels.CHANNEL_MONO,
)  # fmt: skip


async def pipeline_of(
    hass: HomeAssistant, wyoming: MockConfigEntry, ws: WebSocketGenerator
) -> str:
    """An Assist pipeline: our server's STT, the Alicia agent."""
    assert await hass.config_entries.async_setup(wyoming.entry_id)
    assert await async_setup_component(hass, "assist_pipeline", {})
    entities = er.async_entries_for_config_entry(er.async_get(hass), wyoming.entry_id)
    (stt_entity,) = [e.entity_id for e in entities if e.domain == "stt"]
    client = await ws(hass)
    await client.send_json_auto_id({
        "type": "assist_pipeline/pipeline/create", "name": "Alicia", "language": "en",
        "conversation_engine": AGENT, "conversation_language": "en",
        "stt_engine": stt_entity, "stt_language": "en", "tts_engine": None,
        "tts_language": None, "tts_voice": None,
        "wake_word_entity": None, "wake_word_id": None,
    })  # fmt: skip
    return str((await client.receive_json())["result"]["id"])


async def spoken_question(server: ServerProcess) -> bytes:
    """Half a second of quiet, the question in our voice, then 12 s of quiet, at 16 kHz."""
    audio = await synthesize(server.uri, QUESTION)
    speech = np.frombuffer(as_format(trimmed(audio.pcm), audio.rate, RATE, 1), "<i2")
    quiet, tail = np.zeros(RATE // 2, "<i2"), np.zeros(12 * RATE, "<i2")
    return bytes(np.concatenate((quiet, speech, tail)).tobytes())


async def live(pcm: bytes) -> AsyncIterator[bytes]:
    """The audio at real time, as a satellite streams it."""
    began = time.perf_counter()
    for offset in range(0, len(pcm), CHUNK):
        yield pcm[offset : offset + CHUNK]
        due = began + (offset + CHUNK) / 2 / RATE
        await asyncio.sleep(max(0.0, due - time.perf_counter()))


async def run(
    hass: HomeAssistant, pipeline: str, pcm: bytes
) -> dict[PipelineEventType, tuple[float, dict[str, Any]]]:
    """One spoken run through HA's pipeline: each event's time and data."""
    events: dict[PipelineEventType, tuple[float, dict[str, Any]]] = {}

    def seen(event: PipelineEvent) -> None:
        events[event.type] = (time.monotonic(), event.data or {})

    await async_pipeline_from_audio_stream(
        hass, context=Context(), event_callback=seen, stt_metadata=METADATA,
        stt_stream=live(pcm), pipeline_id=pipeline, end_stage=PipelineStage.INTENT,
        audio_settings=HA_VAD,
    )  # fmt: skip
    assert PipelineEventType.ERROR not in events, events[PipelineEventType.ERROR]
    return events


def asked(xai: FakeXai, text: str) -> list[float]:
    """When the model was asked `text`."""
    return [
        float(r["time"])
        for r in xai.chat_requests()
        if r["body"]["messages"][-1]["content"] == text
    ]


async def test_a_spoken_question_is_asked_once_before_the_turn_is_over(
    hass: HomeAssistant,
    agent_entry: MockConfigEntry,
    wyoming_entry: MockConfigEntry,
    grok_server: ServerProcess,
    xai: FakeXai,
    hass_ws_client: WebSocketGenerator,
) -> None:
    pipeline = await pipeline_of(hass, wyoming_entry, hass_ws_client)
    pcm = await spoken_question(grok_server)
    await run(hass, pipeline, pcm)  # HA's prompt and tools, known to the app now
    xai.configure(first_token_delay=0.3)
    logged = len(grok_server.log.read_text())
    events = await run(hass, pipeline, pcm)
    stt_end = events[PipelineEventType.STT_END][1]
    text = str(stt_end["stt_output"]["text"]).strip()
    assert text.endswith("?"), text
    assert len(asked(xai, text)) == 1  # asked once: HA's ask took the early answer
    intent = events[PipelineEventType.INTENT_END][1]["intent_output"]
    assert intent["response"]["speech"]["plain"]["speech"] == reply_for(text, 0)
    # The app says which way it went: the answer already under way was HA's.
    log = grok_server.log.read_text()[logged:]
    assert f"Answered from the early answer: {text!r}" in log
