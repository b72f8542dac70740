"""The diagnostics download: what a device put in its metadata stays private."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .helpers import SENSOR, register

SECRETS = {
    "wifi_password": "hunter2", "Password": "hunter3", "mqtt_pass": "hunter4",
    "private_key": "MC4CAQAwBQYDK2VwBCIEIP", "secret": "s3cr3t", "psk": "wpa-psk",
    "serial": "SN-123456", "mac": "aa:bb:cc:dd:ee:ff", "ssid": "HomeWifi",
    "AuthToken": "abc", "credentials": {"user": "me"}, "mac_address": "aa:bb:cc:00",
    "wifi_ssid": "Home2", "serial_no": "SN-9", "ip_addr": "192.168.1.20",
    "hostname": "esp-kitchen", "pwd": "pw1", "pin": "4711", "macAddress": "aa:bb:cc:01",
}  # fmt: skip


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices are approved as they register."""
    return {"approval": "auto"}


async def test_secrets_in_metadata_are_redacted(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """A device's Wi-Fi password or serial never reaches a download pasted into an issue."""
    metadata = {
        **SENSOR["metadata"],
        **SECRETS,
        "manual": "http://admin:s3cr3t@10.0.0.9/",
    }
    await register(hass, {**SENSOR, "metadata": metadata})
    await register(hass, {**SENSOR, "device_id": "keypad_hall", "metadata": metadata})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = repr(diagnostics)
    assert [value for value in SECRETS.values() if repr(value)[1:-1] in text] == []
    shown = diagnostics["devices"]["kitchen_sensor"]["document"]["metadata"]
    assert shown["model"] == "TH-1"  # what helps with an issue stays
    assert shown["wifi_password"] == "**REDACTED**"
    assert shown["manual"] == "http://**REDACTED**@10.0.0.9/"
    # A device's id is no field name: "keypad" holds "key", and the device stays shown.
    assert diagnostics["devices"]["keypad_hall"]["document"]["name"] == "Kitchen sensor"
    assert diagnostics["security"]["key_fingerprints"] == {
        "kitchen_sensor": None, "keypad_hall": None,
    }  # fmt: skip
