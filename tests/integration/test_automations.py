"""Every YAML automation in docs/automations.md validates in HA and fires."""

from __future__ import annotations

import re

from homeassistant.components.media_player.const import MediaPlayerEntityFeature
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
import yaml

from tests.conftest import ROOT

from .helpers import setup_alicia

DOC = ROOT / "docs" / "automations.md"


def documented() -> list[dict[str, object]]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    return [yaml.safe_load(block) for block in blocks]


async def test_documented_automations_fire(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    automations = documented()
    assert len(automations) >= 3
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "tts", {"tts": {"platform": "demo"}})
    assert await async_setup_component(hass, "media_player", {})
    await hass.async_block_till_done()
    play = async_mock_service(hass, "media_player", "play_media")
    lights_off = async_mock_service(hass, "light", "turn_off")
    notify = async_mock_service(hass, "persistent_notification", "create")
    kitchen = ar.async_get(hass).async_get_or_create("Kitchen")
    speaker = er.async_get(hass).async_get_or_create(
        "media_player", "test", "k", suggested_object_id="kitchen_speaker"
    )
    er.async_get(hass).async_update_entity(speaker.entity_id, area_id=kitchen.id)
    hass.states.async_set(
        speaker.entity_id,
        "idle",
        {"supported_features": int(MediaPlayerEntityFeature.MEDIA_ANNOUNCE)},
    )
    hass.states.async_set("binary_sensor.front_door_door", "off")
    await setup_alicia(hass)
    assert await async_setup_component(hass, "automation", {"automation": automations})
    await hass.async_block_till_done()
    for automation in automations:
        alias = str(automation["alias"]).lower().replace(" ", "_")
        state = hass.states.get(f"automation.{alias}")
        assert state is not None, f"{automation['alias']} did not load"
        assert state.state == "on"

    hass.states.async_set("binary_sensor.front_door_door", "on")
    await hass.async_block_till_done()
    assert play[0].data["entity_id"] == "media_player.kitchen_speaker"
    assert play[0].data["announce"] is True

    hass.bus.async_fire(
        "alicia_voice_command",
        {"device_id": "sat", "transcript": "Good night, Alicia", "answer": ""},
    )
    hass.bus.async_fire(
        "alicia_voice_command",
        {"device_id": "sat", "transcript": "What time is it?", "answer": ""},
    )
    await hass.async_block_till_done()
    assert len(lights_off) == 1

    hass.bus.async_fire("alicia_device_offline", {"device_id": "kitchen_sensor"})
    hass.bus.async_fire(
        "alicia_device_registered",
        {"device_id": "x", "name": "Garage door", "device_type": "sensor"},
    )
    await hass.async_block_till_done()
    messages = [c.data["message"] for c in notify]
    assert "kitchen_sensor stopped reporting." in messages
    assert (
        "Device x is waiting for approval in Settings → Devices & services." in messages
    )


@pytest.mark.parametrize("automation", documented(), ids=lambda a: str(a["alias"]))
async def test_each_documented_automation_is_valid(
    hass: HomeAssistant, automation: dict[str, object]
) -> None:
    from homeassistant.components.automation.config import async_validate_config_item

    validated = await async_validate_config_item(hass, "test", automation)
    assert validated is not None
    assert validated.validation_error is None, validated.validation_error
