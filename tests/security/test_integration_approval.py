"""Attacks on the approval cards: HA's own name, floods while HA starts, ignored requests."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_IGNORE
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import (
    LIGHT,
    SENSOR,
    approval_flows,
    register,
    setup_alicia,
)

from .devices import ATTACKER, register_signed


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The user approves each device."""
    return {}


async def ignore(hass: HomeAssistant, device_id: str) -> None:
    """What the card's Ignore does (HA's config_entries/ignore_flow)."""
    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": f"device:{device_id}", "title": device_id},
    )
    await hass.async_block_till_done()


async def test_home_assistants_own_name_cannot_register(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The attack: a device named as HA on the bus, whose messages skip the rate limit."""
    key = KeyPair.generate()
    for index in range(30):
        document = {**LIGHT, "device_id": "home-assistant", "name": f"HA {index}"}
        await register_signed(hass, document, key)

    assert "home-assistant" not in entry.runtime_data.approvals.pending
    assert approval_flows(hass) == []
    assert entry.runtime_data.tally.counters.rejected["invalid_field"] >= 1


async def test_no_cards_pile_up_while_home_assistant_starts(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The attack: a request changed 40 times (its rate allows bursts of 50) before HA has started; one card, the newest."""
    hass.set_state(CoreState.starting)
    await setup_alicia(hass)
    for index in range(40):
        await register(hass, {**LIGHT, "name": f"Light {index}"})
    assert approval_flows(hass) == []

    hass.set_state(CoreState.running)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()

    (flow,) = approval_flows(hass, ATTACKER)
    assert flow["context"]["title_placeholders"] == {"name": "Light 39"}


async def test_ignored_requests_take_no_place_among_the_pending(
    hass: HomeAssistant, entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: requests the user ignores, as the card says, fill the list; a real device waits all the same."""
    monkeypatch.setattr("custom_components.alicia.pending.MAX_PENDING", 2)
    approvals = entry.runtime_data.approvals
    for index in range(4):
        device_id = f"junk_{index}"
        await register(hass, {**LIGHT, "device_id": device_id, "name": device_id})
        await ignore(hass, device_id)

    await register(hass, SENSOR)

    assert list(approvals.pending) == [SENSOR["device_id"]]
    assert len(approvals.ignored) == 2  # the newest, for when the user stops ignoring
    assert [f["context"]["unique_id"] for f in approval_flows(hass)] == [
        f"device:{SENSOR['device_id']}"
    ]


async def test_the_permit_window_does_not_let_in_an_ignored_device(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, LIGHT)
    await ignore(hass, ATTACKER)
    approvals = entry.runtime_data.approvals

    approvals.set_permit(True)
    await register(hass, LIGHT)

    assert ATTACKER not in entry.runtime_data.roster.devices
    assert ATTACKER in approvals.ignored
