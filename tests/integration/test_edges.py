"""Edge paths: light modes and value shapes, announcement errors, triggers of other devices."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import DOMAIN

from .helpers import alicia_device, register, register_keyed, send, send_keyed


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices are approved as they register."""
    return {"approval": "auto"}


@pytest.mark.parametrize(
    ("capability", "value", "state", "mode"),
    [
        ("light", True, "on", "onoff"),
        ("dimmer", "on", "on", "brightness"),
        (
            {"name": "light", "parameters": {"color_temp": True}},
            {"state": "on", "color_temp_kelvin": 2700},
            "on",
            "color_temp",
        ),
        (
            {"name": "bulb", "parameters": {"color": True, "color_temp": True}},
            {"state": "off"},
            "off",
            None,
        ),
        ("light", None, "unknown", None),
    ],
)
async def test_light_shapes(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    capability: Any,
    value: Any,
    state: str,
    mode: str | None,
) -> None:
    await register(
        hass,
        {
            "device_id": "lamp",
            "device_type": "actuator",
            "name": "Lamp",
            "capabilities": [capability],
        },
    )
    name = capability if isinstance(capability, str) else capability["name"]
    if value is not None:
        await send(hass, "alicia/devices/lamp/data", "lamp", {"values": {name: value}})
    entity_id = er.async_get(hass).async_get_entity_id("light", DOMAIN, f"lamp_{name}")
    assert entity_id is not None
    current = hass.states.get(entity_id)
    assert current is not None
    assert current.state == state
    if mode is not None:
        assert current.attributes["color_mode"] == mode


async def test_announcement_errors(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})  # Assist's exposure
    hass.states.async_set("media_player.den", "idle", {"supported_features": 0})
    # An announcer, approved (automatic approval): it may ask.
    await register_keyed(hass, {"device_id": "doorbell", "device_type": "sensor",
                                "name": "Doorbell", "capabilities": ["announce"]})  # fmt: skip
    # No TTS engine is set up at all.
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN,
            "announce",
            {"entity_id": "media_player.den", "message": "Hi."},
            blocking=True,
        )
    assert error.value.translation_key == "no_tts"

    async def answer(payload: dict[str, Any]) -> dict[str, Any]:
        mqtt_mock.async_publish.reset_mock()
        await send_keyed(hass, "alicia/devices/speakers/announce", "doorbell", payload)
        result: dict[str, Any] = json.loads(mqtt_mock.async_publish.call_args.args[1])[
            "payload"
        ]
        return result

    assert (await answer({"target": {"entity_id": "media_player.den"}}))[
        "status"
    ] == "failed"  # nothing to say
    unknown = await answer({"message": "Hi.", "target": {"device_id": "ghost"}})
    assert unknown["status"] == "failed"
    # A bad volume is ignored rather than sent to the player; media needs no TTS.
    from pytest_homeassistant_custom_component.common import async_mock_service

    assert await async_setup_component(hass, "media_player", {})
    calls = async_mock_service(hass, "media_player", "play_media")
    played = await answer(
        {
            "media_url": "http://192.0.2.10:8123/local/bell.mp3",
            "volume": 7,
            "target": {"entity_id": "media_player.den"},
        }
    )
    assert played["status"] == "played"
    assert "extra" not in calls[0].data


async def test_no_triggers_for_other_devices(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("other", "x")}
    )
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, other.id
    )
    assert [t for t in triggers if t["domain"] == DOMAIN] == []
    await register(
        hass,
        {"device_id": "plug", "device_type": "actuator", "capabilities": ["switch"]},
    )
    plug = alicia_device(hass, "plug")
    assert plug is not None
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, plug.id
    )
    assert [t for t in triggers if t["domain"] == DOMAIN] == []  # a plug has no button
