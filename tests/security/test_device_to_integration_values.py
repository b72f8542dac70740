"""Attacks with numbers no float holds and ids that name shared topics: refused, never a traceback."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus_link import MISTAKES_ALL_BURST
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import SENSOR, message, register

from .devices import publish

HUGE = int("9" * 400)
HEARTBEAT = "alicia/system/health/heartbeat"
TELEMETRY = "alicia/devices/sensors/telemetry"


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_strangers_huge_heartbeat_metric_is_refused_bounded(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """20 forged heartbeats of a 400-digit metric were 20 ERROR tracebacks of 50 KB each."""
    pad = "A" * 50_000
    for n in range(20):
        payload = {
            "device_id": f"forged{n}",
            "status": "healthy",
            "metrics": {"cpu": HUGE},
            "pad": pad,
        }
        publish(hass, HEARTBEAT, message(f"forged{n}", payload))
    await hass.async_block_till_done()
    assert errors_logged(caplog) == []
    assert entry.runtime_data.tally.counters.rejected["invalid_field"] == 20
    warned = [
        r.getMessage() for r in caplog.records if "Refused a message" in r.getMessage()
    ]
    assert 0 < len(warned) <= MISTAKES_ALL_BURST  # the mistakes' budget, rate-limited
    assert all(len(line) < 300 for line in warned)  # one line each, not the payload


@pytest.mark.parametrize("topic", [TELEMETRY, "alicia/devices/kitchen_sensor/data"])
async def test_a_huge_reported_value_is_refused_where_it_is_taken_in(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    topic: str,
) -> None:
    """A 4000-digit temperature overflowed the sensor's float(): two tracebacks per report."""
    await register(hass, SENSOR)  # approved as it registers, unsigned
    publish(hass, topic, message("kitchen_sensor", {"values": {"temperature": 21.5}}))
    await hass.async_block_till_done()
    for n in range(10):
        values = {"temperature": int("9" * 4000) + n, "humidity": 40}
        publish(hass, topic, message("kitchen_sensor", {"values": values}))
        await hass.async_block_till_done()
    assert errors_logged(caplog) == []
    device = entry.runtime_data.roster.devices["kitchen_sensor"]
    assert device.values == {"temperature": 21.5}  # the report refused whole
    assert entry.runtime_data.tally.counters.rejected["invalid_field"] == 10
    state = hass.states.get("sensor.kitchen_sensor_temperature")
    assert state is not None
    assert state.state == "21.5"


@pytest.mark.parametrize("device_id", ["speakers", "sensors"])
async def test_no_device_is_approved_as_a_shared_namespace(
    hass: HomeAssistant, entry: MockConfigEntry, device_id: str
) -> None:
    """As `speakers` its ACL read every device's announcements (devices/speakers/#)."""
    hub = entry.runtime_data
    await register(
        hass, {**SENSOR, "device_id": device_id, "name": f"Kitchen {device_id}"}
    )
    assert device_id not in hub.roster.devices
    assert device_id not in hub.approvals.pending
    assert hub.tally.counters.rejected["invalid_field"] == 1
    result = await hass.services.async_call(
        DOMAIN, "mosquitto_acl", {}, blocking=True, return_response=True
    )
    assert result is not None
    assert f"user {device_id}" not in str(result["acl"])
