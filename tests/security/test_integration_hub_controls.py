"""An approved device reaches for the hub's own controls through ha/command, exposed or not."""

from __future__ import annotations

from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import LIGHT, message

from .devices import ATTACKER, COMMAND, command_answers, publish, register_signed


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The user approves each device; the window to let one in is shut."""
    return {
        "approval": "manual",
        "allowed_actions": ["switch.turn_on", "select.select_option"],
    }


async def ask(
    hass: HomeAssistant, key: KeyPair, action: str, entity_id: str, **data: Any
) -> None:
    payload = {"action": action, "target": {"entity_id": entity_id}, "data": data}
    publish(
        hass, COMMAND, message(ATTACKER, payload, "request", key=key, topic=COMMAND)
    )
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("action", "key", "data"),
    [
        ("switch.turn_on", "permit", {}),
        ("select.select_option", "security_mode", {"option": "off"}),
    ],
)
async def test_an_exposed_hub_control_is_refused(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    action: str,
    key: str,
    data: dict[str, Any],
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    approvals = entry.runtime_data.approvals
    light = KeyPair.generate()
    approvals.set_permit(True)
    await register_signed(hass, LIGHT, light)  # approved by the user, once
    approvals.set_permit(False)
    domain = action.partition(".")[0]
    control = er.async_get(hass).async_get_entity_id(
        domain, DOMAIN, f"{entry.entry_id}_{key}"
    )
    assert control is not None
    # "Expose all switches" (or selects) to Assist exposes Alicia's own too.
    async_expose_entity(hass, "conversation", control, True)
    before = hass.states.get(control)
    assert before is not None
    mode = entry.runtime_data.security.mode

    await ask(hass, light, action, control, **data)

    [answer] = command_answers(mqtt_mock)
    assert answer["status"] == "refused"
    assert "controls Alicia itself" in answer["error"]["message"]
    after = hass.states.get(control)
    assert after is not None
    assert after.state == before.state
    assert not approvals.permit_open
    assert entry.runtime_data.security.mode == mode
