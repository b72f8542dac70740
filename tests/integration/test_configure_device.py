"""alicia.configure_device: settings to a device, retained and signed; only to Alicia's devices."""

from __future__ import annotations

from datetime import date
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.envelope import parse
from custom_components.alicia.bus.signing import verify
from custom_components.alicia.const import DOMAIN
from custom_components.alicia.services import MAX_SETTINGS

from .helpers import alicia_device


async def configure(hass: HomeAssistant, settings: dict[str, Any]) -> None:
    """The kitchen sensor's settings, through the action."""
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "configure_device",
        {"device_id": device.id, "settings": settings}, blocking=True,
    )  # fmt: skip


async def test_settings_are_sent_retained_and_signed(
    hass: HomeAssistant,
    sensor: str,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
) -> None:
    await configure(hass, {"report_interval": 60})
    topic, raw, qos, retain = mqtt_mock.async_publish.call_args.args
    assert (topic, qos, retain) == ("alicia/devices/kitchen_sensor/config", 1, True)
    message = json.loads(raw)
    assert message["payload"] == {"settings": {"report_interval": 60}}
    assert message["destination"] == "kitchen_sensor"
    verify(topic, message, entry.runtime_data.admission.key.public_key)


@pytest.mark.parametrize("which", ["another_integrations", "removed"])
async def test_only_alicia_devices_can_be_configured(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient, which: str
) -> None:
    other = MockConfigEntry(domain="demo")
    other.add_to_hass(hass)
    stranger = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("demo", "x")}
    )
    if which == "removed":  # e.g. an automation naming a device deleted since
        dr.async_get(hass).async_remove_device(stranger.id)
    mqtt_mock.async_publish.reset_mock()
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN, "configure_device",
            {"device_id": stranger.id, "settings": {"a": 1}}, blocking=True,
        )  # fmt: skip
    assert error.value.translation_key == "unknown_device"
    mqtt_mock.async_publish.assert_not_called()


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"v": float("nan")}, 'settings["v"]: must be a finite number'),
        ({"v": [float("-inf")]}, 'settings["v"][0]: must be a finite number'),
        ({"v": int("9" * 400)}, 'settings["v"]: must be a finite number'),
        ({"v": date(2026, 1, 1)}, 'settings["v"]: date is not JSON'),
        ({"v": "A" * 64 * 1024}, "settings: must be at most"),  # the topic's limit
    ],
    ids=["nan", "infinity", "400_digits", "date", "oversize"],
)
async def test_settings_no_device_could_read_are_refused(
    hass: HomeAssistant,
    sensor: str,
    mqtt_mock: MqttMockHAClient,
    settings: dict[str, Any],
    reason: str,
) -> None:
    """NaN, infinity and 400 digits were a raw ValueError; the oversize was kept retained."""
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    mqtt_mock.async_publish.reset_mock()
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN, "configure_device",
            {"device_id": device.id, "settings": settings}, blocking=True,
        )  # fmt: skip
    assert error.value.translation_key == "invalid_settings"
    assert error.value.translation_placeholders is not None
    assert error.value.translation_placeholders["reason"].startswith(reason)
    mqtt_mock.async_publish.assert_not_called()


async def test_the_largest_settings_fit_the_config_topic(
    hass: HomeAssistant, sensor: str, mqtt_mock: MqttMockHAClient
) -> None:
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    settings = {"v": "A" * (MAX_SETTINGS - len('{"v": ""}'))}
    await hass.services.async_call(
        DOMAIN, "configure_device",
        {"device_id": device.id, "settings": settings}, blocking=True,
    )  # fmt: skip
    topic, raw, _, _ = mqtt_mock.async_publish.call_args.args
    assert parse(topic, raw).payload == {"settings": settings}  # as the device reads it


async def test_removing_a_device_clears_its_settings_from_the_broker(
    hass: HomeAssistant,
    sensor: str,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """Settings HA signed for a device (a Wi-Fi password) do not wait for the next holder of its id."""
    await configure(hass, {"wifi_password": "hunter2"})
    mqtt_mock.async_publish.reset_mock()
    entry.runtime_data.approvals.remove("kitchen_sensor")  # the user's removal
    await hass.async_block_till_done()
    assert ("alicia/devices/kitchen_sensor/config", b"", 1, True) in [
        c.args[:4] for c in mqtt_mock.async_publish.call_args_list
    ]
