"""Discovery with approval, the device registry, entities from capabilities, data and commands."""

from __future__ import annotations

import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import (
    APPROVAL_AUTO,
    CONF_APPROVAL,
    DOMAIN,
    MAX_PENDING,
)

from .helpers import (
    AREA_IN_ENTITY_IDS,
    LIGHT,
    SENSOR,
    alicia_device,
    approval_flows,
    approve_from_discovery,
    approve_repair,
    open_card,
    register,
    send,
)


def state_of(hass: HomeAssistant, entity: str) -> State:
    state = hass.states.get(entity)
    assert state is not None, entity
    return state


def entity_id(hass: HomeAssistant, unique_id: str, domain: str) -> str:
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


async def test_new_device_waits_for_approval(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, SENSOR)
    hub = entry.runtime_data
    assert "kitchen_sensor" in hub.approvals.pending
    assert "kitchen_sensor" not in hub.roster.devices
    card = await open_card(hass, "kitchen_sensor")
    # An unsigned device gets the card that says so plainly.
    assert card["step_id"] == "unsigned_device"
    assert card["description_placeholders"] == {
        "device_id": "kitchen_sensor", "name": "Kitchen sensor",
        "device_type": "a sensor (it measures or detects)",
        "manufacturer": "Acme", "model": "TH\\-1",
        "capabilities": "temperature, humidity, motion, battery",
        "fingerprint": "none (unsigned)",
        "via_device": "nobody: it talks to Home Assistant itself",
        "title_name": "Kitchen sensor", "area": "**Kitchen**",
        "configuration_url": "none",
    }  # fmt: skip
    assert alicia_device(hass, "kitchen_sensor") is None

    await approve_from_discovery(hass, "kitchen_sensor")
    assert "kitchen_sensor" in hub.roster.devices
    assert approval_flows(hass) == []
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    assert (device.name, device.manufacturer, device.model, device.sw_version) == (
        "Sensor" if AREA_IN_ENTITY_IDS else "Kitchen sensor",
        "Acme",
        "TH-1",
        "1.2.0",
    )
    assert device.area_id == "kitchen"

    temperature = entity_id(hass, "kitchen_sensor_temperature", "sensor")
    state = state_of(hass, temperature)
    assert state is not None
    assert state.attributes["device_class"] == "temperature"
    assert state.attributes["unit_of_measurement"] == "°C"
    assert state.attributes["state_class"] == "measurement"
    battery = er.async_get(hass).async_get(
        entity_id(hass, "kitchen_sensor_battery", "sensor")
    )
    assert battery is not None
    assert battery.entity_category == "diagnostic"


async def test_permit_switch_and_auto_approval(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    permit = entity_id(hass, f"{entry.entry_id}_permit", "switch")
    assert state_of(hass, permit).state == STATE_OFF
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": permit}, blocking=True
    )
    assert state_of(hass, permit).state == STATE_ON
    await register(hass, SENSOR)
    assert "kitchen_sensor" in entry.runtime_data.roster.devices
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": permit}, blocking=True
    )
    await register(hass, LIGHT)
    assert "hall_light" in entry.runtime_data.approvals.pending

    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_APPROVAL: APPROVAL_AUTO}
    )
    await hass.async_block_till_done()
    await register(hass, LIGHT)
    assert "hall_light" in entry.runtime_data.roster.devices


async def test_data_health_and_availability(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    await send(
        hass,
        "alicia/devices/kitchen_sensor/data",
        "kitchen_sensor",
        {"values": {"temperature": 21.5, "motion": True, "humidity": 40}},
    )
    assert (
        state_of(hass, entity_id(hass, "kitchen_sensor_temperature", "sensor")).state
        == "21.5"
    )
    assert (
        state_of(hass, entity_id(hass, "kitchen_sensor_motion", "binary_sensor")).state
        == STATE_ON
    )
    connectivity = entity_id(hass, "kitchen_sensor_connectivity", "binary_sensor")
    assert state_of(hass, connectivity).state == STATE_ON

    await send(hass, "alicia/system/health/heartbeat", "kitchen_sensor", {
        "device_id": "kitchen_sensor", "status": "healthy", "interval": 10,
        "metrics": {"cpu_usage": 5.0, "memory_usage": 20.0, "response_time": 42.0, "error_rate": 0.02},
    })  # fmt: skip
    health = entity_id(hass, "kitchen_sensor_health_status", "sensor")
    assert state_of(hass, health).state == "healthy"
    # Noisy or for the curious: off by default, only the status shows.
    registry = er.async_get(hass)
    for key in ("cpu_usage", "memory_usage", "response_time", "error_rate"):
        unique_id = f"kitchen_sensor_health_{key}"
        found = registry.async_get(entity_id(hass, unique_id, "sensor"))
        assert found is not None
        assert found.disabled_by is er.RegistryEntryDisabler.INTEGRATION

    # 3 intervals of 10 s without a heartbeat: unavailable, with its entities.
    freezer.tick(31)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, connectivity).state == STATE_OFF
    assert (
        state_of(hass, entity_id(hass, "kitchen_sensor_temperature", "sensor")).state
        == STATE_UNAVAILABLE
    )

    await send(
        hass,
        "alicia/system/health/heartbeat",
        "kitchen_sensor",
        {"device_id": "kitchen_sensor", "status": "healthy", "interval": 10},
    )
    assert state_of(hass, connectivity).state == STATE_ON
    # The last will says offline: unavailable at once.
    await send(
        hass,
        "alicia/devices/kitchen_sensor/status",
        "kitchen_sensor",
        {"state": "offline"},
    )
    assert state_of(hass, connectivity).state == STATE_OFF


async def test_commands_are_envelopes_on_the_device_topic(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, LIGHT)
    await send(
        hass,
        "alicia/devices/hall_light/data",
        "hall_light",
        {"values": {"light": {"state": "off", "brightness": 10}}},
    )
    light = entity_id(hass, "hall_light_light", "light")
    assert state_of(hass, light).state == STATE_OFF
    mqtt_mock.async_publish.reset_mock()
    await hass.services.async_call(
        "light",
        "turn_on",
        {"entity_id": light, "brightness": 128, "color_temp_kelvin": 3000},
        blocking=True,
    )
    topic, raw, qos, retain = mqtt_mock.async_publish.call_args.args
    assert (topic, qos, retain) == ("alicia/devices/hall_light/command", 1, False)
    sent = json.loads(raw)
    assert sent["protocol"] == 1
    assert sent["message_type"] == "command"
    assert sent["destination"] == "hall_light"
    assert sent["payload"] == {
        "capability": "light",
        "action": "turn_on",
        "params": {"brightness": 128, "color_temp_kelvin": 3000},
    }
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, "hall_light_identify", "button")},
        blocking=True,
    )
    assert (
        json.loads(mqtt_mock.async_publish.call_args.args[1])["payload"]["action"]
        == "press"
    )


async def test_restored_before_mqtt_and_removed(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert "kitchen_sensor" in entry.runtime_data.roster.devices
    assert (
        er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, "kitchen_sensor_temperature"
        )
        is not None
    )

    # Deleted by the user: gone from HA, retained registration cleared.
    device = alicia_device(hass, "kitchen_sensor")
    assert device is not None
    mqtt_mock.async_publish.reset_mock()
    from custom_components.alicia import async_remove_config_entry_device

    assert await async_remove_config_entry_device(hass, entry, device)
    await hass.async_block_till_done()
    assert "kitchen_sensor" not in entry.runtime_data.roster.devices
    # HA 2026.11 passes message_expiry_interval too; the arguments that matter:
    assert ("alicia/system/discovery/register/kitchen_sensor", b"", 1, True) in [
        c.args for c in mqtt_mock.async_publish.call_args_list
    ]


async def test_unregister_and_capability_changes(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    changed = {
        **SENSOR,
        "capabilities": ["temperature", "illuminance", "laser_pointer"],
    }
    await register(hass, changed)
    registry = er.async_get(hass)
    # More than was approved: nothing changes until the user gives it.
    assert "kitchen_sensor" in entry.runtime_data.approvals.pending
    assert registry.async_get_entity_id("sensor", DOMAIN, "kitchen_sensor_humidity")
    await approve_repair(hass, "kitchen_sensor")
    assert (
        registry.async_get_entity_id("sensor", DOMAIN, "kitchen_sensor_illuminance")
        is not None
    )
    assert (
        registry.async_get_entity_id("sensor", DOMAIN, "kitchen_sensor_humidity")
        is None
    )
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, "unknown_capability_kitchen_sensor_laser_pointer"
    )
    assert issue is not None
    assert (issue.translation_placeholders or {})["capability"] == "laser\\_pointer"

    await send(
        hass,
        "alicia/system/discovery/unregister",
        "kitchen_sensor",
        {"device_id": "kitchen_sensor"},
    )
    assert "kitchen_sensor" not in entry.runtime_data.roster.devices
    assert alicia_device(hass, "kitchen_sensor") is None


async def test_bad_input_is_refused_and_bounded(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    hub = entry.runtime_data
    hub.approvals.set_permit(True)
    await register(hass, SENSOR)
    hub.approvals.set_permit(False)
    # A flood of made-up devices: the pending list stays bounded.
    for index in range(1000):
        await register(hass, {**LIGHT, "device_id": f"fake_{index}"})
    assert len(hub.approvals.pending) == MAX_PENDING
    assert hub.tally.counters.pending_full == 1000 - MAX_PENDING
    # Someone else tries to re-register the kitchen sensor: refused.
    await register(hass, {**SENSOR, "name": "Evil twin"}, source="intruder")
    assert hub.roster.devices["kitchen_sensor"].name == "Kitchen sensor"
    assert hub.tally.counters.collisions == 1
    # Malformed, wrong types, unknown protocol version, oversized.
    from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

    for raw in (
        "{not json",
        '{"protocol": 2}',
        json.dumps({"protocol": 1}),
        "x" * 70_000,
    ):
        async_fire_mqtt_message(hass, "alicia/system/discovery/register", raw)
    await hass.async_block_till_done()
    assert set(hub.tally.counters.rejected) >= {
        "malformed_json",
        "unsupported_protocol",
        "missing_field",
        "too_large",
    }
    # Data for unknown devices is ignored; the real device still works.
    await send(
        hass, "alicia/devices/nobody/data", "nobody", {"values": {"temperature": 99}}
    )
    await send(
        hass,
        "alicia/devices/kitchen_sensor/data",
        "kitchen_sensor",
        {"values": {"temperature": 19.0}},
    )
    assert (
        state_of(hass, entity_id(hass, "kitchen_sensor_temperature", "sensor")).state
        == "19.0"
    )


async def test_diagnostics_redact(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    from custom_components.alicia.diagnostics import async_get_config_entry_diagnostics

    entry.runtime_data.approvals.set_permit(True)
    await register(
        hass, {**SENSOR, "metadata": {**SENSOR["metadata"], "password": "hunter2"}}
    )
    data = await async_get_config_entry_diagnostics(hass, entry)
    assert (
        data["devices"]["kitchen_sensor"]["document"]["metadata"]["password"]
        == "**REDACTED**"
    )
    assert data["counters"]["messages"] >= 1


async def test_silent_device_raises_a_repair_issue_and_stays(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, SENSOR)
    freezer.tick(31)  # unavailable: 3 missed heartbeats
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, "stale_kitchen_sensor") is None
    freezer.tick(31 * 86400)  # silent for over 30 days
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "stale_kitchen_sensor")
    assert issue is not None
    assert issue.translation_placeholders == {
        "device_id": "kitchen_sensor",
        "days": "30",
    }
    assert (
        "kitchen_sensor" in entry.runtime_data.roster.devices
    )  # reported, not removed


async def test_device_pages_link_only_to_web_pages_and_the_hub_has_a_version(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    entry.runtime_data.approvals.set_permit(True)
    page = {"configuration_url": "http://192.168.1.20/"}
    await register(hass, {**SENSOR, "metadata": SENSOR["metadata"] | page})
    await register(
        hass, {**LIGHT, "metadata": {"configuration_url": "javascript:alert(1)"}}
    )
    sensor, light = (
        alicia_device(hass, "kitchen_sensor"),
        alicia_device(hass, "hall_light"),
    )
    assert sensor is not None
    assert light is not None
    assert (sensor.configuration_url, light.configuration_url) == (
        "http://192.168.1.20/",
        None,
    )
    (hub,) = [
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if (DOMAIN, entry.entry_id) in d.identifiers
    ]
    assert hub is not None
    assert hub.sw_version == "0.1.0"  # manifest.json's version
