"""alicia/integration/ha/command: allowed actions run, everything else is refused with the reason."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import (
    ATTR_AREA_ID,
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_FLOOR_ID,
    ATTR_LABEL_ID,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.home import TARGET_KEYS
from custom_components.alicia.ha_commands import MAX_URLS

from .helpers import HALL, SENSOR, command_answer, register, register_keyed, send


@pytest.fixture
async def entry_options(hass: HomeAssistant) -> dict[str, Any]:
    """Two lights, one exposed to Assist; devices approved as they register."""
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.kitchen", "off", {"friendly_name": "Kitchen"})
    hass.states.async_set("light.vault", "off", {"friendly_name": "Vault"})
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    async_expose_entity(hass, "conversation", "light.vault", False)
    return {"approval": "auto"}


@pytest.fixture(autouse=True)
async def sensor(entry: MockConfigEntry) -> None:
    """The kitchen sensor, approved: the device that sends the commands."""
    await register_keyed(entry.runtime_data.hass, SENSOR)


async def test_allowed_action_runs(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    calls = async_mock_service(hass, "light", "turn_on")
    answer = await command_answer(
        hass,
        mqtt_mock,
        {
            "action": "light.turn_on",
            "target": {"entity_id": "light.kitchen"},
            "data": {"brightness": 120},
        },
    )
    assert answer == {"status": "done"}
    assert calls[0].data == {"entity_id": ["light.kitchen"], "brightness": 120}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            {"action": "shell_command.wipe", "target": {"entity_id": "light.kitchen"}},
            "action shell_command.wipe is not allowed",
        ),
        (
            {"action": "homeassistant.restart"},
            "action homeassistant.restart is not allowed",
        ),
        (
            {"action": "script.turn_on", "target": {"entity_id": "script.x"}},
            "action script.turn_on is not allowed",
        ),
        (
            {"action": "light.turn_on", "target": {"entity_id": "light.vault"}},
            "light.vault is no light entity exposed to Assist",
        ),
        (
            {"action": "light.turn_on", "target": {"entity_id": "light.attic"}},
            "light.attic is no light entity exposed to Assist",
        ),
        (
            {"action": "light.turn_on", "target": {"entity_id": "switch.kitchen"}},
            "switch.kitchen is not a light entity",
        ),
        ({"action": "light.turn_on"}, "target.entity_id must name the entities"),
        (
            {
                "action": "light.turn_on",
                "target": {"entity_id": "light.kitchen"},
                "data": {"entity_id": "light.vault"},
            },
            "payload.data must be an object without",
        ),
        ({"action": 42}, 'payload.action must be "domain.action"'),
    ],
)
async def test_refusals(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    payload: dict[str, Any],
    reason: str,
) -> None:
    calls = async_mock_service(hass, "light", "turn_on")
    answer = await command_answer(hass, mqtt_mock, payload)
    assert answer["status"] == "refused"
    assert reason in answer["error"]["message"]
    assert calls == []
    assert entry.runtime_data.tally.counters.commands_refused == 1


async def test_unapproved_sender_is_refused(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    answer = await command_answer(
        hass,
        mqtt_mock,
        {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}},
        source="stranger",
    )
    assert answer["error"]["message"] == "stranger is not an approved device"


async def test_allow_list_is_an_option(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "allowed_actions": ["light.turn_off"]}
    )
    await hass.async_block_till_done()
    await register_keyed(hass, SENSOR)
    answer = await command_answer(
        hass,
        mqtt_mock,
        {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}},
    )
    assert "not allowed (allowed: light.turn_off)" in answer["error"]["message"]


async def test_a_dangerous_action_is_refused_even_if_an_old_list_allows_it(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    allowed = ["light.turn_off", "homeassistant.restart"]
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "allowed_actions": allowed}
    )
    await hass.async_block_till_done()
    answer = await command_answer(hass, mqtt_mock, {"action": "homeassistant.restart"})
    assert answer["error"]["message"] == (
        "action homeassistant.restart is not allowed (allowed: light.turn_off)"
    )


async def test_failing_action_is_reported(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    from homeassistant.exceptions import HomeAssistantError

    async def broken(call: ServiceCall) -> None:
        raise HomeAssistantError("bulb unreachable")

    hass.services.async_register("light", "turn_on", broken)
    answer = await command_answer(
        hass,
        mqtt_mock,
        {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}},
    )
    assert answer == {
        "status": "refused",
        "error": {
            "code": "failed",
            "message": 'light.turn_on failed: "bulb unreachable"',
        },
    }


@pytest.mark.parametrize(
    "content",
    [
        "http://192.0.2.10:8123/api/states",
        "/api/camera_proxy/camera.door",
        "media-source://camera/camera.door",
        ["http://radio.example/a.mp3", {"next": "http://192.0.2.10:8123/api/states"}],
        "http://192.0.2.10:99999/api/states",  # HA cannot read it: not passed on either
    ],
    ids=["absolute", "relative", "media-source", "nested", "unreadable"],
)
@pytest.mark.usefixtures("dns")
async def test_a_device_cannot_have_ha_sign_its_own_address(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    content: Any,
) -> None:
    """Even where a user allowed play_media, HA's own addresses (it signs them) are refused."""
    hass.config.internal_url = "http://192.0.2.10:8123"
    hass.states.async_set(HALL, "idle")
    async_expose_entity(hass, "conversation", HALL, True)
    allowed = ["media_player.play_media"]
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "allowed_actions": allowed}
    )
    await hass.async_block_till_done()
    calls = async_mock_service(hass, "media_player", "play_media")
    data = {"media_content_id": content, "media_content_type": "music"}
    payload: dict[str, Any] = {
        "action": "media_player.play_media",
        "target": {"entity_id": HALL},
        "data": data,
    }
    answer = await command_answer(hass, mqtt_mock, payload)
    assert answer["status"] == "refused"
    assert (
        "Home Assistant's own addresses are not for devices"
        in (answer["error"]["message"])
    )
    assert calls == []
    data["media_content_id"] = "http://radio.example/stream.mp3"
    assert await command_answer(hass, mqtt_mock, payload) == {"status": "done"}
    assert len(calls) == 1


@pytest.mark.parametrize(
    "content",
    [
        "http://127.0.0.1:4357/",
        "http://10.0.0.5/camera.mjpg",
        "http://supervisor/core/api/states",
        "http://[::1]:8123/",
        {"nested": ["https://router.lan/admin"]},
        "file:///config/secrets.yaml",
    ],
    ids=[
        "loopback",
        "private",
        "single-label",
        "ipv6-loopback",
        "nested-local",
        "file",
    ],
)
async def test_a_device_cannot_have_ha_fetch_its_own_network(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    content: Any,
    play_media_calls: list[ServiceCall],
) -> None:
    """The attack: where a user allowed play_media, a device named an address on HA's network; a player fetched it from HA's host."""
    payload: dict[str, Any] = {
        "action": "media_player.play_media",
        "target": {"entity_id": HALL},
        "data": {"media_content_id": content, "media_content_type": "music"},
    }
    answer = await command_answer(hass, mqtt_mock, payload)
    assert answer["status"] == "refused"
    assert "host or network is not for devices" in answer["error"]["message"]
    assert play_media_calls == []


async def test_a_device_cannot_have_ha_fetch_its_network_through_a_public_name(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    dns: dict[str, list[str] | OSError],
    play_media_calls: list[ServiceCall],
) -> None:
    """The attack: a public-looking name of the device's own answers 127.0.0.1; refused, named."""
    dns["rebind.attacker.example"] = ["127.0.0.1"]
    url = "http://rebind.attacker.example:8123/api/states"
    payload: dict[str, Any] = {
        "action": "media_player.play_media",
        "target": {"entity_id": HALL},
        "data": {"media_content_id": url, "media_content_type": "music"},
    }
    answer = await command_answer(hass, mqtt_mock, payload)
    assert answer == {
        "status": "refused",
        "error": {
            "code": "failed",
            "message": '"rebind.attacker.example" resolves to "127.0.0.1", Home '
            "Assistant's host or its network (loopback, private, link-local or a "
            "local name): only public addresses are for devices",
        },
    }
    assert play_media_calls == []


def test_the_core_refuses_every_target_form_ha_knows() -> None:
    """The core cannot import HA: its list of target keys must be HA's."""
    assert {
        ATTR_ENTITY_ID, ATTR_DEVICE_ID, ATTR_AREA_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID
    } == TARGET_KEYS  # fmt: skip


async def test_a_device_approved_without_a_key_moves_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """Anyone on the broker can send in the name of a device without a key: HA does not act."""
    await register(hass, {**SENSOR, "device_id": "porch_sensor"})
    calls = async_mock_service(hass, "light", "turn_on")
    mqtt_mock.async_publish.reset_mock()
    payload = {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}}
    await send(hass, "alicia/integration/ha/command", "porch_sensor", payload)
    answer = json.loads(mqtt_mock.async_publish.call_args.args[1])["payload"]
    assert answer["status"] == "refused"
    assert "approved without a key" in answer["error"]["message"]
    assert calls == []


async def test_with_security_off_a_device_without_a_key_still_acts(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """The user turned security off: the broker's word is the device's."""
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "security_mode": "off"}
    )
    await hass.async_block_till_done()
    await register(hass, {**SENSOR, "device_id": "porch_sensor"})
    calls = async_mock_service(hass, "light", "turn_on")
    payload = {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}}
    await send(hass, "alicia/integration/ha/command", "porch_sensor", payload)
    assert len(calls) == 1


async def test_a_command_naming_many_addresses_is_refused_before_any_lookup(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    dns: dict[str, list[str] | OSError],
    monkeypatch: pytest.MonkeyPatch,
    play_media_calls: list[ServiceCall],
) -> None:
    """The attack: one command names many slow names, each a lookup on HA's executor."""
    looked_up: list[str] = []
    resolve = hass.loop.getaddrinfo

    async def counted(host: str, port: int | None, **kwargs: Any) -> Any:
        looked_up.append(host)
        return await resolve(host, port, **kwargs)

    monkeypatch.setattr(hass.loop, "getaddrinfo", counted)
    names = [f"http://slow{n}.attacker.example/a.mp3" for n in range(MAX_URLS + 1)]
    payload: dict[str, Any] = {
        "action": "media_player.play_media",
        "target": {"entity_id": HALL},
        "data": {"media_content_id": names[0], "extra": {"urls": names[1:]}},
    }
    answer = await command_answer(hass, mqtt_mock, payload)
    assert answer["status"] == "refused"
    assert answer["error"]["message"] == (
        f"{MAX_URLS + 1} addresses in one command (at most {MAX_URLS})"
    )
    assert looked_up == []
    assert play_media_calls == []
