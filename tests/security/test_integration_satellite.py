"""Attacks on the bus satellites: only the approved device, by its key, opens or feeds a pipeline."""

from __future__ import annotations

import json
import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.satellite import (
    MAX_CHUNK_BYTES,
    SatelliteAudio,
    SatelliteRun,
    StartStage,
)
from custom_components.alicia.bus.signing import KeyPair
from tests.conftest import PIPELINE_SECONDS, wait_until
from tests.integration.helpers import message, setup_alicia
from tests.integration.satellites import (
    CHUNK,
    SATELLITE,
    BusSatellite,
    StubStt,
)

from . import devices

ATTACKER_KEY = KeyPair.generate()
ATTACKER = {**SATELLITE, "device_id": "evil_satellite", "name": "Evil satellite"}


@pytest.fixture
async def entry(
    hass: HomeAssistant, stt_engine: StubStt, entry_options: dict[str, Any]
) -> MockConfigEntry:
    """Alicia on Assist (approval as the module says)."""
    return await setup_alicia(hass, entry_options)


@pytest.fixture
async def victim(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> BusSatellite:
    """The hall satellite, approved with its key; and the attacker's, approved with its own."""
    sat = BusSatellite(hass, mqtt_mock)
    assert sat.key is not None
    await devices.register_signed(hass, SATELLITE, sat.key)
    await devices.register_signed(hass, ATTACKER, ATTACKER_KEY)
    assert {"hall_satellite", "evil_satellite"} <= set(
        entry.runtime_data.roster.devices
    )
    return sat


def counts(entry: MockConfigEntry) -> dict[str, int]:
    hub = entry.runtime_data
    return {**hub.admission.audit.counts, **hub.tally.counters.rejected}


def nothing_heard(sat: BusSatellite, stt: StubStt) -> bool:
    return stt.heard == b"" and sat.events() == []


async def settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done()


async def test_forged_runs_in_the_satellites_name_open_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    # Unsigned, in its name.
    BusSatellite(hass, victim.mqtt, key=None).run()
    # Signed by the attacker's key, in its name.
    BusSatellite(hass, victim.mqtt, key=ATTACKER_KEY).run()
    # The attacker as itself, on the victim's topic.
    BusSatellite(hass, victim.mqtt, key=ATTACKER_KEY, source="evil_satellite").run()
    await settle(hass)
    assert nothing_heard(victim, stt_engine)
    seen = counts(entry)
    assert seen["unsigned"] == 1
    assert seen["bad_signature"] == 1
    assert seen["collision"] == 1


async def test_forged_audio_feeds_nothing_into_the_satellites_open_run(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    victim.run()
    await settle(hass)
    forger = BusSatellite(
        hass, victim.mqtt, key=ATTACKER_KEY, source="evil_satellite",
        run_id=victim.run_id,
    )  # fmt: skip
    forger.audio(b"\x01\x02" * 1600, end=True)
    BusSatellite(hass, victim.mqtt, key=None, run_id=victim.run_id).audio(end=True)
    victim.audio(end=True)
    await wait_until(lambda: "end" in victim.types(), limit=PIPELINE_SECONDS)
    assert stt_engine.heard == CHUNK  # the device's own chunk only
    assert counts(entry)["collision"] == 1
    assert counts(entry)["unsigned"] == 1


async def test_a_replayed_run_or_chunk_is_refused(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    run = victim.send(
        "run", {"run_id": "r1", "format": {"rate": 16000, "width": 2, "channels": 1}}
    )
    chunk = victim.send("audio", SatelliteAudio("r1", 0, CHUNK, False).payload())
    for topic, text in ((victim.topic("run"), run), (victim.topic("audio"), chunk)):
        async_fire_mqtt_message(hass, topic, text)
    victim.run_id, victim.seq = "r1", 1
    victim.audio(end=True)
    await wait_until(lambda: "end" in victim.types(), limit=PIPELINE_SECONDS)
    assert stt_engine.heard == CHUNK * 2  # neither replay restarted the run nor fed it
    assert counts(entry)["replayed"] == 2


async def test_an_unapproved_device_opens_nothing_and_is_answered(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    stranger = BusSatellite(hass, victim.mqtt, device_id="stranger_satellite",
                            key=KeyPair.generate())  # fmt: skip
    stranger.run()
    stranger.audio(end=True)
    await settle(hass)
    assert stt_engine.heard == b""
    assert stranger.events() == []
    assert entry.runtime_data.tally.counters.unknown_device == 2
    answers = [
        json.loads(c.args[1])["payload"]["error"]["code"]
        for c in victim.mqtt.async_publish.call_args_list
        if c.args[0] == "alicia/system/errors"
    ]
    assert "not_approved" in answers


async def test_a_device_approved_without_a_key_opens_no_pipeline(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    keyless = {**SATELLITE, "device_id": "plain_satellite"}
    async_fire_mqtt_message(
        hass, "alicia/system/discovery/register/plain_satellite",
        message("plain_satellite", keyless),
    )  # fmt: skip
    await settle(hass)
    assert "plain_satellite" in entry.runtime_data.roster.devices
    plain = BusSatellite(hass, victim.mqtt, device_id="plain_satellite", key=None)
    plain.run()
    await settle(hass)
    assert stt_engine.heard == b""
    assert plain.events() == []
    assert counts(entry)["unsigned"] == 1


async def test_an_endless_stream_faster_than_real_time_is_cut_and_told(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    victim.run()
    big = bytes(MAX_CHUNK_BYTES)
    for _ in range(
        40
    ):  # 8 s of audio at once: 2 s of pre-roll is all a device may be ahead
        victim.audio(big)
    await wait_until(lambda: "end" in victim.types(), limit=PIPELINE_SECONDS)
    assert counts(entry)["too_fast"] == 1
    error = next(e for e in victim.events() if e["type"] == "error")
    assert error["code"] == "too_fast"
    assert len(stt_engine.heard) <= 2 * 32000 + MAX_CHUNK_BYTES
    # The rest of the flood feeds nothing: the run is closed.
    assert counts(entry)["no_run"] >= 25


async def test_a_lost_chunk_ends_the_run_and_the_device_is_told(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    victim.run()
    victim.audio()
    victim.seq += 1  # chunk 1 never arrives
    victim.audio()
    await wait_until(lambda: "end" in victim.types(), limit=PIPELINE_SECONDS)
    assert [e.get("code") for e in victim.events() if e["type"] == "error"] == [
        "audio_lost"
    ]


async def test_a_chunk_over_200_ms_is_refused_before_it_is_decoded(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    stt_engine: StubStt,
) -> None:
    victim.run()
    victim.audio(bytes(MAX_CHUNK_BYTES + 2))
    await settle(hass)
    assert counts(entry)["bad_audio"] == 1
    assert stt_engine.heard == b""


async def test_made_up_senders_on_a_satellites_topic_are_counted_not_logged(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    victim: BusSatellite,
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Anyone on the broker, one message per made-up id: no line or security event for each."""
    events = async_capture_events(hass, "alicia_security_event")
    caplog.clear()
    for k in range(300):
        forged = BusSatellite(hass, mqtt_mock, key=None, source=f"x{k}")
        forged.send("run", SatelliteRun(f"r{k}", StartStage.STT, None).payload())
    await settle(hass)
    assert entry.runtime_data.tally.counters.collisions >= 300
    # (asyncio's "Executing ... took" on a loaded machine is not Alicia's log.)
    assert [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components")
    ] == []
    assert events == []
    assert victim.events() == []
