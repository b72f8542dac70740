"""The user's side of the hub: who may configure a device, and repairs that flapping cannot flood (#25, 8)."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import alicia_device, message

from .devices import VICTIM, publish

CONFIG = f"alicia/devices/{VICTIM}/config"
HEARTBEAT = "alicia/system/health/heartbeat"


async def configure(hass: HomeAssistant, ha_device_id: str, user: User) -> None:
    await hass.services.async_call(
        DOMAIN, "configure_device",
        {"device_id": ha_device_id, "settings": {"wifi_ssid": "attacker"}},
        blocking=True, context=Context(user_id=user.id),
    )  # fmt: skip


def configs_sent(mqtt_mock: MqttMockHAClient) -> list[str]:
    return [
        c.args[0] for c in mqtt_mock.async_publish.call_args_list if c.args[0] == CONFIG
    ]


async def test_only_an_admin_configures_a_device(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    hass_read_only_user: User,
    hass_admin_user: User,
) -> None:
    device = alicia_device(hass, VICTIM)
    assert device is not None
    with pytest.raises(Unauthorized):
        await configure(hass, device.id, hass_read_only_user)
    assert configs_sent(mqtt_mock) == []
    await configure(hass, device.id, hass_admin_user)
    assert configs_sent(mqtt_mock) == [CONFIG]


async def test_a_device_of_another_entry_is_not_configured(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    hass_admin_user: User,
) -> None:
    other = MockConfigEntry(domain="demo")
    other.add_to_hass(hass)
    # Another entry's device that carries the victim's Alicia identifier.
    victim = alicia_device(hass, VICTIM)
    assert victim is not None
    registry = dr.async_get(hass)
    impostor = registry.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={(DOMAIN, VICTIM)}
    )
    if impostor.id == victim.id:
        # HA 2026.2 merges devices by identifier across entries: take ours away.
        merged = registry.async_update_device(
            impostor.id, remove_config_entry_id=entry.entry_id
        )
        assert merged is not None
        impostor = merged
    with pytest.raises(ServiceValidationError):
        await configure(hass, impostor.id, hass_admin_user)
    assert configs_sent(mqtt_mock) == []


async def beat(hass: HomeAssistant, key: KeyPair, status: str) -> None:
    payload: dict[str, Any] = {"device_id": VICTIM, "status": status, "interval": 10}
    publish(hass, HEARTBEAT, message(VICTIM, payload, key=key, topic=HEARTBEAT))
    await hass.async_block_till_done()


async def test_health_flapping_raises_one_repair_once_it_holds(
    freezer: FrozenDateTimeFactory,  # first: the devices are seen on its clock
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
) -> None:
    created: list[Event[Any]] = []
    hass.bus.async_listen(
        ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED,
        lambda event: (
            created.append(event) if event.data["action"] == "create" else None
        ),
    )
    for _ in range(25):  # a burst of flaps
        await beat(hass, keys[VICTIM], "unhealthy")
        await beat(hass, keys[VICTIM], "healthy")
    await beat(hass, keys[VICTIM], "unhealthy")
    assert created == []
    freezer.tick(61)  # unhealthy, and it stays so
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    issue = f"unhealthy_{VICTIM}"
    assert [e.data["issue_id"] for e in created] == [issue]
    for _ in range(10):  # flapping on does not drop and raise it again
        await beat(hass, keys[VICTIM], "healthy")
        await beat(hass, keys[VICTIM], "unhealthy")
        freezer.tick(6)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert len(created) == 1
    await beat(hass, keys[VICTIM], "healthy")
    freezer.tick(61)  # healthy again, for good
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue) is None
