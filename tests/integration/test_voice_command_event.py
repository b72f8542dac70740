"""alicia_voice_command runs automations: only a voice server fires it, with text of bounded length."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.alicia.bus.answers import RouteAnswer, RouteTimings
from custom_components.alicia.bus.signing import KeyPair

from .helpers import (
    BRIDGE,
    BRIDGE_KEY,
    SENSOR,
    message,
    recorded,
    register,
    register_bridge,
)

RESPONSE = "alicia/voice/command/response"
VICTIM = SENSOR["device_id"]
GOODNIGHT = {"transcript": "Good night", "answer": "Sleep well.", "language": "en"}


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices approved as they register: the attacker is an approved device too."""
    return {"approval": "auto"}


@pytest.fixture
async def devices(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The kitchen sensor, and the app's bridge with its key."""
    await register(hass, SENSOR)
    await register_bridge(hass)
    assert {VICTIM, BRIDGE} <= set(entry.runtime_data.roster.devices)


async def voice_result(
    hass: HomeAssistant, source: str, key: KeyPair, payload: dict[str, Any]
) -> None:
    text = message(
        source, payload, "response", key=key, topic=RESPONSE,
        correlation_id="q1", destination=VICTIM,
    )  # fmt: skip
    async_fire_mqtt_message(hass, RESPONSE, text)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("devices")
@pytest.mark.parametrize("device_type", ["sensor", "actuator", "speaker", "controller"])
async def test_a_device_listing_stt_and_ai_is_no_voice_server(
    hass: HomeAssistant, entry: MockConfigEntry, device_type: str
) -> None:
    """The attack: a cheap thermometer, approved, lists stt and ai to say "good night"."""
    key = KeyPair.generate()
    topic = "alicia/system/discovery/register/cheap_thermo"
    thermometer = {
        **SENSOR, "device_id": "cheap_thermo", "device_type": device_type,
        "name": "Cheap thermometer", "capabilities": ["temperature", "stt", "ai"],
        "public_key": key.public_key,
    }  # fmt: skip
    async_fire_mqtt_message(
        hass, topic, message("cheap_thermo", thermometer, key=key, topic=topic)
    )
    await hass.async_block_till_done()
    assert "cheap_thermo" in entry.runtime_data.roster.devices
    fired = recorded(hass, "alicia_voice_command")

    await voice_result(hass, "cheap_thermo", key, GOODNIGHT)
    assert fired == []
    assert entry.runtime_data.tally.counters.rejected["voice_refused"] == 1
    await voice_result(hass, BRIDGE, BRIDGE_KEY, GOODNIGHT)  # the bridge still counts
    assert fired == [{"device_id": VICTIM, **GOODNIGHT}]


@pytest.mark.usefixtures("devices")
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"transcript": {"nested": ["not", "a", "string"]}}, "payload.transcript"),
        ({"transcript": "Good night", "answer": "x" * 60_000}, "payload.answer"),
        ({"transcript": "Good night", "language": ["??"]}, "payload.language"),
    ],
)
async def test_a_voice_result_of_untyped_or_unbounded_text_fires_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    payload: dict[str, Any],
    field: str,
) -> None:
    fired = recorded(hass, "alicia_voice_command")
    await voice_result(hass, BRIDGE, BRIDGE_KEY, payload)
    assert fired == []
    assert entry.runtime_data.tally.counters.rejected["voice_refused"] == 1
    assert f"Voice result from {BRIDGE} refused: {field}" in caplog.text


@pytest.mark.usefixtures("devices")
async def test_the_bridges_answer_fires_what_was_said(hass: HomeAssistant) -> None:
    fired = recorded(hass, "alicia_voice_command")
    timings = RouteTimings(stt_ms=120.0, total_ms=900.0, ai_ms=700.0)
    answer = RouteAnswer("Good night", "Sleep well.", "en", timings, "a1")
    await voice_result(hass, BRIDGE, BRIDGE_KEY, answer.to_payload())
    assert fired == [{"device_id": VICTIM, **GOODNIGHT}]
