"""A satellite's messages and its audio stream's bounds (bus/satellite.py)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from alicia_bus.envelope import new_message, parse
from alicia_bus.errors import ProtocolError
from alicia_bus.satellite import (
    MAX_CHUNK_BYTES,
    MAX_WAKE_WORDS,
    AudioStream,
    EventType,
    SatelliteAudio,
    SatelliteEvent,
    SatelliteRun,
    StartStage,
    WakeWords,
)

FORMAT = {"rate": 16000, "width": 2, "channels": 1}
SECOND = bytes(32000)


def code(parse_it: Any, payload: dict[str, Any]) -> str:
    with pytest.raises(ProtocolError) as refused:
        parse_it(payload)
    return refused.value.code


def test_a_run_needs_an_id_and_the_one_format() -> None:
    run = SatelliteRun.parse({"run_id": "abc", "format": FORMAT, "wake_word": "nabu"})
    assert (run.start_stage, run.wake_word) == (StartStage.STT, "nabu")
    assert SatelliteRun.parse(run.payload()) == run
    assert code(SatelliteRun.parse, {"format": FORMAT}) == "missing_field"
    assert (
        code(SatelliteRun.parse, {"run_id": "A/B", "format": FORMAT}) == "invalid_field"
    )
    for other in ({**FORMAT, "rate": 48000}, None, {**FORMAT, "extra": 1}):
        assert (
            code(SatelliteRun.parse, {"run_id": "a", "format": other})
            == "invalid_field"
        )
    wrong_stage = {"run_id": "a", "format": FORMAT, "start_stage": "intent"}
    assert code(SatelliteRun.parse, wrong_stage) == "invalid_field"


def test_a_chunk_is_checked_by_its_length_before_it_is_decoded() -> None:
    chunk = SatelliteAudio("a", 3, bytes(640), end=True)
    assert SatelliteAudio.parse(chunk.payload()) == chunk
    too_big = base64.b64encode(bytes(MAX_CHUNK_BYTES + 2)).decode()
    for data in (too_big, "not base64!", base64.b64encode(b"\x00").decode(), 7):
        payload = {"run_id": "a", "seq": 0, "data": data}
        assert code(SatelliteAudio.parse, payload) == "bad_audio"
    for seq in (-1, True, 2**31, "0"):
        assert (
            code(SatelliteAudio.parse, {"run_id": "a", "seq": seq}) == "invalid_field"
        )


def test_a_satellites_messages_are_parsed_at_the_edge_by_their_topic() -> None:
    topic = "alicia/devices/sat/satellite/audio"
    message = new_message("sat", "event", {"run_id": "a", "seq": 0, "data": ""})
    read = parse(topic, __import__("json").dumps(message).encode())
    assert read.body == SatelliteAudio("a", 0, b"", False)


def test_events_say_only_what_they_carry() -> None:
    event = SatelliteEvent(
        "a", EventType.PLAY, url="http://ha:8123/api/tts_proxy/x.wav"
    )
    assert event.payload() == {
        "run_id": "a", "type": "play", "url": "http://ha:8123/api/tts_proxy/x.wav",
    }  # fmt: skip
    assert SatelliteEvent.parse(event.payload()) == event
    ends = SatelliteEvent("a", EventType.END, listen=True)
    assert SatelliteEvent.parse(ends.payload()) == ends
    assert (
        code(SatelliteEvent.parse, {"run_id": "a", "type": "dance"}) == "invalid_field"
    )


def stream(stage: StartStage = StartStage.STT) -> AudioStream:
    return AudioStream(SatelliteRun("a", stage, None), started=100.0)


def chunk(seq: int, pcm: bytes = bytes(3200), end: bool = False) -> SatelliteAudio:
    return SatelliteAudio("a", seq, pcm, end)


def test_a_stream_takes_chunks_in_order_at_real_time() -> None:
    live = stream()
    for seq in range(20):  # 2 s at once: the pre-roll
        assert live.take(chunk(seq), 100.0) == bytes(3200)
    with pytest.raises(ProtocolError, match="real time") as fast:
        live.take(chunk(20), 100.0)
    assert fast.value.code == "too_fast"
    assert live.take(chunk(20), 100.2) == bytes(3200)
    with pytest.raises(ProtocolError) as lost:
        live.take(chunk(22), 105.0)
    assert lost.value.code == "audio_lost"
    live.take(chunk(21, b"", end=True), 105.0)
    assert live.ended
    assert live.seconds == pytest.approx(2.1)


def test_a_stream_ends_at_its_stages_limit() -> None:
    live = stream()
    for seq in range(30):
        live.take(chunk(seq, SECOND[:6400] * 5), 100.0 + seq)
    with pytest.raises(ProtocolError) as long:
        live.take(chunk(30, bytes(2)), 200.0)
    assert long.value.code == "too_long"
    listening = stream(StartStage.WAKE_WORD)
    for seq in range(31):
        listening.take(chunk(seq, SECOND[:6400] * 5), 100.0 + seq)
    assert listening.seconds == 31  # listening for a wake word: up to 300 s


def test_a_configure_event_carries_the_chosen_wake_words() -> None:
    event = SatelliteEvent("c0", EventType.CONFIGURE, wake_words=("hey_jarvis",))
    assert SatelliteEvent.parse(event.payload()) == event
    with pytest.raises(ProtocolError, match="wake_words"):
        SatelliteEvent.parse({**event.payload(), "wake_words": ["Not An Id"]})


@pytest.mark.parametrize(
    ("parameters", "offered", "most"),
    [
        ({}, (), 0),
        ({"wake_words": [{"id": "alexa", "phrase": "Alexa"}]}, (("alexa", "Alexa"),), 1),
        ({"wake_words": [{"id": "alexa"}, "x", {"id": 3}], "max_active": 2},
         (("alexa", "alexa"),), 2),
        ({"wake_words": [{"id": "alexa", "phrase": "A" * 65}], "max_active": 99},
         (("alexa", "alexa"),), 1),
        ({"wake_words": [{"id": f"w{i}"} for i in range(40)]}, None, 1),
        # Shown in HA's wake word picker: no direction override, control or blank.
        ({"wake_words": [{"id": "alexa", "phrase": "\u202eaxelA"},
                         {"id": "jarvis", "phrase": "Hey\nJarvis"},
                         {"id": "nabu", "phrase": "\u200b"}]},
         (("alexa", "alexa"), ("jarvis", "jarvis"), ("nabu", "nabu")), 1),
    ],
)  # fmt: skip
def test_the_wake_words_a_satellite_offers(
    parameters: dict[str, Any], offered: tuple[tuple[str, str], ...] | None, most: int
) -> None:
    words = WakeWords.of(parameters)
    if offered is not None:
        assert words.offered == offered
    assert len(words.offered) <= MAX_WAKE_WORDS
    assert words.max_active == most
