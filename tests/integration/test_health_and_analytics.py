"""Heartbeat status and analytics events: what the user sees (sensor, repair, event, logbook)."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import DOMAIN
from custom_components.alicia.health import ISSUE_AFTER_SECONDS

from .helpers import recorded, send
from .test_mistakes import answers

HEARTBEAT = "alicia/system/health/heartbeat"
ANALYTICS = "alicia/integration/analytics/event"


async def beat(hass: HomeAssistant, status: str) -> None:
    await send(hass, HEARTBEAT, "kitchen_sensor", {
        "device_id": "kitchen_sensor", "status": status, "interval": 10,
    })  # fmt: skip


def shown(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_health_status_is_a_sensor(hass: HomeAssistant, sensor: str) -> None:
    assert shown(hass, sensor) == "unknown"
    await beat(hass, "healthy")
    assert shown(hass, sensor) == "healthy"
    await beat(hass, "degraded")
    assert shown(hass, sensor) == "degraded"


async def held(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """A minute passes without news: a health status held that long is settled."""
    freezer.tick(ISSUE_AFTER_SECONDS + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_degraded_and_unhealthy_fire_events_and_unhealthy_raises_a_repair(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    sensor: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = recorded(hass, "alicia_device_health")
    issues = ir.async_get(hass)
    await beat(hass, "healthy")
    assert events == []  # the first healthy heartbeat is no news
    await beat(hass, "degraded")
    assert events == [
        {"device_id": "kitchen_sensor", "status": "degraded", "previous": "healthy"}
    ]
    assert "Device kitchen_sensor reports its health as degraded" in caplog.text
    assert issues.async_get_issue(DOMAIN, "unhealthy_kitchen_sensor") is None
    await beat(hass, "unhealthy")
    assert issues.async_get_issue(DOMAIN, "unhealthy_kitchen_sensor") is None
    await held(hass, freezer)  # the repair comes once unhealthy has held
    issue = issues.async_get_issue(DOMAIN, "unhealthy_kitchen_sensor")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    await beat(hass, "unhealthy")
    assert len(events) == 2  # only changes
    await beat(hass, "healthy")
    assert events[-1] == {
        "device_id": "kitchen_sensor",
        "status": "healthy",
        "previous": "unhealthy",
    }
    await held(hass, freezer)
    assert issues.async_get_issue(DOMAIN, "unhealthy_kitchen_sensor") is None


async def test_a_removed_device_leaves_no_health_repair_behind(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    sensor: str,
    entry: MockConfigEntry,
) -> None:
    await beat(hass, "unhealthy")
    await held(hass, freezer)
    assert ir.async_get(hass).async_get_issue(DOMAIN, "unhealthy_kitchen_sensor")
    entry.runtime_data.approvals.remove("kitchen_sensor")
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, "unhealthy_kitchen_sensor") is None
    )


async def test_analytics_fire_an_event(hass: HomeAssistant, sensor: str) -> None:
    events = recorded(hass, "alicia_analytics")
    await send(hass, ANALYTICS, "kitchen_sensor", {
        "event": "filter_changed", "message": "Fan filter replaced", "hours": 412,
    })  # fmt: skip
    assert events == [{
        "device_id": "kitchen_sensor", "name": "Kitchen sensor", "event": "filter_changed",
        "message": "Fan filter replaced", "data": {"hours": 412},
    }]  # fmt: skip


async def test_analytics_from_an_unknown_device_are_refused_and_answered(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    events = recorded(hass, "alicia_analytics")
    await send(hass, ANALYTICS, "stranger", {"event": "spam", "message": "Buy now"})
    assert events == []
    (error,) = answers(mqtt_mock, "alicia/system/errors")
    assert error["payload"]["error"]["code"] == "not_approved"
    assert "stranger is not an approved device" in error["payload"]["error"]["message"]


async def test_a_heartbeat_from_an_unknown_device_says_so(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    await send(
        hass, HEARTBEAT, "new_gadget", {"device_id": "new_gadget", "status": "healthy"}
    )
    (error,) = answers(mqtt_mock, "alicia/system/errors")
    assert error["payload"]["error"]["code"] == "not_approved"
    assert "new_gadget is not an approved device" in caplog.text
    assert entry.runtime_data.tally.counters.unknown_device == 1


async def test_analytics_without_an_event_name_are_a_mistake(
    hass: HomeAssistant, sensor: str, mqtt_mock: MqttMockHAClient
) -> None:
    await send(hass, ANALYTICS, "kitchen_sensor", {"message": "no name"})
    (error,) = answers(mqtt_mock, "alicia/system/errors")
    assert error["payload"]["error"] == {
        "code": "missing_field", "message": "payload.event is required",
    }  # fmt: skip


async def test_a_device_back_after_days_clears_its_silence_repair(
    hass: HomeAssistant,
    sensor: str,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """ "Not heard from for days" goes once the device is heard from again."""
    await beat(hass, "healthy")
    freezer.tick(31 * 86400)  # stale_days is 30 by default
    entry.runtime_data.health.check()
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, "stale_kitchen_sensor") is not None
    await beat(hass, "healthy")
    entry.runtime_data.health.check()
    assert issues.async_get_issue(DOMAIN, "stale_kitchen_sensor") is None
