"""Alicia's events read as lines in HA's logbook (the recorder and logbook running)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from .helpers import send
from .test_health_and_analytics import ANALYTICS, beat


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database before HA starts, as the logbook needs it."""


async def test_analytics_appear_in_the_logbook(
    recorder_mock: Any,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    sensor: str,
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    await send(
        hass,
        ANALYTICS,
        "kitchen_sensor",
        {"event": "filter_changed", "message": "Fan filter replaced"},
    )
    await send(hass, ANALYTICS, "kitchen_sensor", {"event": "button_pressed"})
    await beat(hass, "healthy")
    await beat(hass, "degraded")
    await hass.async_add_executor_job(recorder_mock.block_till_done)
    client = await hass_ws_client()
    await client.send_json({
        "id": 1, "type": "logbook/get_events",
        "start_time": "2000-01-01T00:00:00+00:00",
    })  # fmt: skip
    answer = await client.receive_json()
    # Newer HA names the area, then the device's own name: "Kitchen Sensor".
    lines = {
        (str(e.get("name")).casefold(), e.get("message")) for e in answer["result"]
    }
    assert ("kitchen sensor", 'reports "Fan filter replaced"') in lines
    assert ("kitchen sensor", "reports its health as degraded") in lines
    # An event without a message reads in words, each line with its icon.
    assert ("kitchen sensor", 'reports "button pressed"') in lines
    icons = {e.get("message"): e.get("icon") for e in answer["result"]}
    assert icons["reports its health as degraded"] == "mdi:heart-pulse"
    assert icons['reports "Fan filter replaced"'] == "mdi:chart-line"
