"""The config flow: MQTT first, then one hub entry."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import DOMAIN
from custom_components.alicia.ha_commands import DEFAULT_ALLOWED
from tests.conftest import free_port

from .helpers import setup_alicia


async def test_aborts_without_mqtt(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_creates_single_hub_entry(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Alicia"
    assert result["data"] == {}

    again = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "single_instance_allowed"


@pytest.mark.usefixtures("short_mqtt_wait", "socket_enabled")
async def test_aborts_when_mqtt_not_connected(hass: HomeAssistant) -> None:
    # A real MQTT entry whose broker is down: nothing listens on that port.
    MockConfigEntry(
        domain="mqtt", data={"broker": "127.0.0.1", "port": free_port()}
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_connected"


async def test_mqtt_discovery_offers_setup(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

    info = MqttServiceInfo(
        topic="alicia/system/discovery/register/kitchen_sensor",
        payload="{}",
        qos=1,
        retain=True,
        subscribed_topic="alicia/system/discovery/register/+",
        timestamp=0,
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "mqtt"}, data=info
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {"topic_prefix": "alicia"}

    again = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "mqtt"}, data=info
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "single_instance_allowed"


async def test_mqtt_discovery_of_another_prefix_is_refused(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

    info = MqttServiceInfo(
        topic="other/system/discovery/register", payload="{}", qos=1, retain=False,
        subscribed_topic="alicia/system/discovery/register", timestamp=0,
    )  # fmt: skip
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "mqtt"}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_options_flow(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    entry = await setup_alicia(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"approval": "auto", "heartbeat_factor": 4.0, "stale_days": 10},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        "topic_prefix": "alicia",
        "approval": "auto",
        "heartbeat_factor": 4.0,
        "stale_days": 10,
        # The safe default allow-list for alicia/integration/ha/command.
        "allowed_actions": list(DEFAULT_ALLOWED),
    }
    assert entry.runtime_data.roster.auto_approve  # applied in place
    assert entry.runtime_data.roster.heartbeat_factor == 4.0


async def test_options_can_be_cleared(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_alicia(hass, {"announce_volume": 0.4, "announce_tts": "tts.x"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"approval": "manual", "heartbeat_factor": 3.0, "stale_days": 30,
         "allowed_actions": ["light.turn_on"]},
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert "announce_volume" not in entry.options
    assert "announce_tts" not in entry.options
    assert entry.options["allowed_actions"] == ["light.turn_on"]


async def test_reconfigure_topic_prefix(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_alicia(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    reload = hass.config_entries.async_reload
    with patch.object(
        hass.config_entries, "async_reload", side_effect=reload
    ) as reloads:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"topic_prefix": "home_bus"}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
    assert reloads.call_count == 1
    assert entry.runtime_data.prefix == "home_bus"
    subscribed = [c.args[0] for c in mqtt_mock.async_subscribe.call_args_list]
    assert "home_bus/system/discovery/register/+" in subscribed


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("turn on everything please", "unknown_action"),
        ("light.dance", "unknown_action"),
        ("homeassistant.restart", "dangerous_action"),
        ("alicia.configure_device", "dangerous_action"),
    ],
)
async def test_options_refuse_actions_that_are_not_safe_services(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, action: str, error: str
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    entry = await setup_alicia(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"allowed_actions": ["light.turn_on", action]}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"allowed_actions": error}
    assert result["description_placeholders"] == {"action": action}


async def test_options_take_an_existing_action(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "script", {})
    entry = await setup_alicia(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"allowed_actions": ["fan.turn_on", "script.turn_on"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["allowed_actions"] == ["fan.turn_on", "script.turn_on"]


async def test_options_state_their_ranges_and_one_volume_scale(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_alicia(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    fields = {str(key): value for key, value in schema.schema.items()}
    volume = fields["announce_volume"].config
    assert (volume["min"], volume["max"], volume.get("unit_of_measurement")) == (
        0,
        1,
        None,
    )
    assert fields["heartbeat_factor"].config["min"] == 1.5
    assert fields["stale_days"].config["max"] == 365


async def test_a_percent_volume_is_migrated_to_the_actions_scale(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, minor_version=1,
        options={"topic_prefix": "alicia", "announce_volume": 35},
    )  # fmt: skip
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.minor_version == 2
    assert entry.options["announce_volume"] == 0.35


async def test_setting_up_by_hand_closes_the_card_mqtt_discovery_made(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

    info = MqttServiceInfo(
        topic="alicia/system/discovery/register/kitchen_sensor", payload="{}", qos=1,
        retain=True, subscribed_topic="alicia/system/discovery/register/+", timestamp=0,
    )  # fmt: skip
    await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "mqtt"}, data=info
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()

    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
