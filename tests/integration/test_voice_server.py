"""A hung or stopped voice server is a repair within 3 heartbeats, gone when it answers again (#32, 3)."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.alicia.const import DOMAIN, HEALTH_CHECK_SECONDS
from custom_components.alicia.health import ISSUE_AFTER_SECONDS
from custom_components.alicia.voice_health import OFFLINE_GRACE_SECONDS

from .helpers import (
    BRIDGE,
    HEARTBEAT,
    SENSOR,
    from_bridge,
    register,
    register_bridge,
)

STATUS = f"alicia/devices/{BRIDGE}/status"
ISSUE = f"voice_server_{BRIDGE}"
# VOICE's heartbeat interval (10 s) times HA's default factor (3).
SILENCE = 30


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices approved as they register."""
    return {"approval": "auto"}


@pytest.fixture
async def bridge(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The app's bridge, approved with its key, healthy."""
    await register_bridge(hass)
    await beat(hass, "healthy")


async def beat(hass: HomeAssistant, status: str) -> None:
    await from_bridge(
        hass, HEARTBEAT, {"service_id": BRIDGE, "status": status, "interval": 10}
    )


async def later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Time passes; the hub's health check runs."""
    freezer.tick(seconds)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)


async def test_a_silent_voice_server_is_a_repair_within_three_heartbeats(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, bridge: None
) -> None:
    await later(hass, freezer, SILENCE - HEALTH_CHECK_SECONDS)
    assert issue(hass) is None
    await later(hass, freezer, HEALTH_CHECK_SECONDS + 1)
    raised = issue(hass)
    assert raised is not None
    assert raised.severity is ir.IssueSeverity.ERROR
    assert raised.translation_key == "voice_server_silent"
    assert raised.translation_placeholders == {
        "name": "Alicia voice services", "seconds": "31",
    }  # fmt: skip
    await later(hass, freezer, HEALTH_CHECK_SECONDS)  # still silent: the same issue
    assert issue(hass) == raised
    await beat(hass, "healthy")
    await later(hass, freezer, HEALTH_CHECK_SECONDS)
    assert issue(hass) is None


async def test_an_unhealthy_self_check_is_a_repair_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, bridge: None
) -> None:
    await beat(hass, "unhealthy")
    await later(hass, freezer, HEALTH_CHECK_SECONDS)
    raised = issue(hass)
    assert raised is not None
    assert raised.translation_key == "voice_server_unhealthy"
    await later(hass, freezer, ISSUE_AFTER_SECONDS)
    await beat(hass, "unhealthy")
    # Its own repair, not the generic one as well.
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"unhealthy_{BRIDGE}") is None
    await beat(hass, "healthy")
    await later(hass, freezer, HEALTH_CHECK_SECONDS)
    assert issue(hass) is None


async def test_an_app_that_said_offline_gets_a_minute_to_come_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, bridge: None
) -> None:
    await from_bridge(hass, STATUS, {"state": "offline"})
    await later(hass, freezer, HEALTH_CHECK_SECONDS)  # the check that sees it
    await later(hass, freezer, OFFLINE_GRACE_SECONDS - 1)
    assert issue(hass) is None  # a restart of the app is no news
    await later(hass, freezer, HEALTH_CHECK_SECONDS)
    raised = issue(hass)
    assert raised is not None
    assert raised.translation_key == "voice_server_offline"
    await from_bridge(hass, STATUS, {"state": "online"})
    await later(hass, freezer, HEALTH_CHECK_SECONDS)
    assert issue(hass) is None


async def test_a_silent_sensor_is_no_voice_server(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    await register(hass, SENSOR)
    await later(hass, freezer, 3600)
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
