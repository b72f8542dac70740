"""Attacks with a capability's parameters of any shape or size: refused as invalid_field, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.device import DeviceRecord
from tests.integration.helpers import register

from .devices import published

BUTTON: dict[str, Any] = {
    "device_id": "hall_button",
    "device_type": "controller",
    "name": "Hall button",
    "capabilities": [{"name": "button"}],
}


@pytest.mark.parametrize(
    "parameters",
    [
        "A" * 60_000,
        5,
        [1, 2],
        {"events": ["press"], "pad": "A" * 20_000},
        {"min": float("nan")},
        {"max": int("9" * 400)},
    ],
    ids=["60kb_text", "number", "list", "oversize", "nan", "400_digits"],
)
async def test_bad_parameters_are_refused_as_invalid_field(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
    parameters: Any,
) -> None:
    capabilities = [{"name": "button", "parameters": parameters}]
    await register(hass, {**BUTTON, "capabilities": capabilities})
    hub = entry.runtime_data
    assert "hall_button" not in hub.roster.devices
    assert "hall_button" not in hub.approvals.pending
    assert hub.tally.counters.rejected["invalid_field"] == 1
    [answer] = published(mqtt_mock, "alicia/system/errors")
    error = answer["payload"]["error"]
    assert error["code"] == "invalid_field"
    assert error["message"].startswith("payload.capabilities[0].parameters")
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r for r in logged if r.levelno >= logging.ERROR] == []
    assert all(len(r.getMessage()) < 400 for r in logged)  # not the payload


def test_parameters_of_a_stored_document_are_read_as_an_object() -> None:
    """A document kept from before the check: the device still loads, without them."""
    capabilities = [
        {"name": "button", "parameters": "xy"},
        {"name": "remote", "parameters": [1]},
    ]
    record = DeviceRecord.from_document({**BUTTON, "capabilities": capabilities})
    assert [c.parameters for c in record.capabilities] == [{}, {}]
