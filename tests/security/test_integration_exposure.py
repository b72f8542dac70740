"""Attacks on the exposure check through how an entity id is spelled (issue #25, 1)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair

from .devices import command_answers, send_command


@pytest.fixture
async def lights(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The kitchen light exposed to Assist, the vault's light not (both in the registry)."""
    assert await async_setup_component(hass, "homeassistant", {})
    registry = er.async_get(hass)
    for name in ("kitchen", "vault"):
        registry.async_get_or_create("light", "test", name, suggested_object_id=name)
        hass.states.async_set(f"light.{name}", "on")
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    async_expose_entity(hass, "conversation", "light.vault", False)


@pytest.mark.parametrize(
    "spelling",
    [
        "light.Vault",
        "LIGHT.VAULT",
        "light.vault\n",  # a trailing newline passes a regex's $
        ["light.kitchen", "light.VAULT"],
    ],
)
async def test_an_unexposed_entity_cannot_be_reached_by_its_spelling(
    hass: HomeAssistant,
    lights: None,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    spelling: Any,
) -> None:
    calls = async_mock_service(hass, "light", "turn_off")
    await send_command(hass, keys, "light.turn_off", spelling)
    (answer,) = command_answers(mqtt_mock)
    assert answer["status"] == "refused"
    assert calls == []


# The Kelvin sign lower-cases to an ASCII k: HA reads light.kitchen, and so does Alicia.
@pytest.mark.parametrize(
    "spelling", ["light.Kitchen", "LIGHT.KITCHEN", "light.\u212aitchen"]
)
async def test_an_exposed_entity_is_acted_on_as_ha_spells_it(
    hass: HomeAssistant,
    lights: None,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    spelling: str,
) -> None:
    calls = async_mock_service(hass, "light", "turn_off")
    await send_command(hass, keys, "light.turn_off", spelling)
    assert command_answers(mqtt_mock) == [{"status": "done"}]
    assert [c.data["entity_id"] for c in calls] == [["light.kitchen"]]


async def test_an_action_is_allowed_as_ha_spells_it(
    hass: HomeAssistant,
    lights: None,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    calls = async_mock_service(hass, "light", "turn_off")
    await send_command(hass, keys, "Light.Turn_Off", "light.kitchen")
    await send_command(hass, keys, "Light.Turn_Off", "light.vault")
    done, refused = command_answers(mqtt_mock)
    assert done == {"status": "done"}
    assert refused["status"] == "refused"
    assert [c.data["entity_id"] for c in calls] == [["light.kitchen"]]
