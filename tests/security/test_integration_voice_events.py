"""Forged voice results: alicia_voice_command runs automations, so only a verified bridge fires it (#25, 3)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import VOICE, message, recorded

from .devices import ATTACKER, VICTIM, publish, register_signed

RESPONSE = "alicia/voice/command/response"
BRIDGE = VOICE["device_id"]
GOODNIGHT = {"transcript": "Good night", "answer": "Sleep well.", "language": "en"}


@pytest.fixture
async def bridge(hass: HomeAssistant, keys: dict[str, KeyPair]) -> KeyPair:
    """The app's voice bridge, approved with its key (speech-to-text and answers)."""
    keys[BRIDGE] = KeyPair.generate()
    await register_signed(hass, VOICE, keys[BRIDGE])
    return keys[BRIDGE]


async def voice_result(
    hass: HomeAssistant, source: str, key: KeyPair | None, asker: str = VICTIM
) -> None:
    text = message(
        source, GOODNIGHT, "response", key=key, topic=RESPONSE,
        correlation_id="q1", destination=asker,
    )  # fmt: skip
    publish(hass, RESPONSE, text)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("sender", "signer", "asker"),
    [
        ("nobody_approved", None, VICTIM),  # anyone on the broker
        ("nobody_approved", "self", VICTIM),  # signed, by a key nobody approved
        (ATTACKER, ATTACKER, VICTIM),  # an approved light, signing as itself
        (BRIDGE, BRIDGE, "not_a_device"),  # naming a device HA does not know
    ],
)
async def test_a_forged_voice_result_fires_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    bridge: KeyPair,
    sender: str,
    signer: str | None,
    asker: str,
) -> None:
    fired = recorded(hass, "alicia_voice_command")
    key = KeyPair.generate() if signer == "self" else keys.get(signer or "")
    await voice_result(hass, sender, key, asker)
    assert fired == []
    assert entry.runtime_data.tally.counters.rejected["voice_refused"] == 1
    await voice_result(hass, BRIDGE, bridge)  # the bridge's own answer still counts
    assert fired == [{"device_id": VICTIM, **GOODNIGHT}]


@pytest.mark.parametrize(
    "entry_options", [{"approval": "auto", "security_mode": "enforce"}]
)
async def test_an_approved_device_without_a_voice_route_fires_nothing_in_enforce(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    bridge: KeyPair,
) -> None:
    fired = recorded(hass, "alicia_voice_command")
    await voice_result(hass, ATTACKER, keys[ATTACKER])  # verified, but a light
    assert fired == []
    assert entry.runtime_data.tally.counters.rejected["voice_refused"] == 1


async def test_a_bridge_without_a_key_is_not_believed(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    unsigned = {**VOICE, "device_id": "fake_bridge"}
    publish(
        hass,
        "alicia/system/discovery/register/fake_bridge",
        message("fake_bridge", unsigned),
    )
    await hass.async_block_till_done()
    assert (
        "fake_bridge" in entry.runtime_data.roster.devices
    )  # approved (automatic approval)
    fired = recorded(hass, "alicia_voice_command")
    await voice_result(hass, "fake_bridge", None)  # anyone can send this in its name
    assert fired == []
    assert entry.runtime_data.tally.counters.rejected["voice_refused"] == 1


async def test_without_security_an_approved_voice_service_is_believed(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    entry.runtime_data.set_security_mode("off")
    plain: dict[str, Any] = {**VOICE, "device_id": "plain_bridge"}
    publish(
        hass,
        "alicia/system/discovery/register/plain_bridge",
        message("plain_bridge", plain),
    )
    await hass.async_block_till_done()
    fired = recorded(hass, "alicia_voice_command")
    await voice_result(hass, "plain_bridge", None)
    await voice_result(hass, ATTACKER, None)  # still not a voice service
    assert fired == [{"device_id": VICTIM, **GOODNIGHT}]
