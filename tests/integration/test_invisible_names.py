"""A device's name on the approval card: none that looks like another's, or like nothing."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .helpers import SENSOR, register


@pytest.mark.parametrize(
    "name",
    [
        "Kitchen sensor\u3164",
        "Kitchen\u034f sensor",
        "Kitchen sensor\ufe0f",
        "\u2800",
        "Kitchen\u2028sensor",
        "\u00a0\u00a0",
    ],
)
async def test_a_name_that_hides_a_character_waits_for_nobody(
    hass: HomeAssistant, entry: MockConfigEntry, name: str
) -> None:
    """The attack: a second "Kitchen sensor", or a blank one, on the approval card."""
    await register(hass, {**SENSOR, "device_id": "lookalike", "name": name})
    assert "lookalike" not in entry.runtime_data.approvals.pending
    assert entry.runtime_data.tally.counters.rejected["invalid_field"] == 1


@pytest.mark.parametrize("name", ["Zoë's lamp", "客厅灯", "रसोई की बत्ती", "❄️ Fan"])
async def test_a_name_in_any_script_waits_as_sent(
    hass: HomeAssistant, entry: MockConfigEntry, name: str
) -> None:
    await register(hass, {**SENSOR, "device_id": "lamp", "name": name})
    assert entry.runtime_data.approvals.pending["lamp"].name == name
