"""Security on the integration side: signatures, key pinning, replay, modes, rate limits, audit."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
import json
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.errors import SecurityError
from custom_components.alicia.bus.signing import KeyPair, fingerprint, verify
from custom_components.alicia.const import DOMAIN

from .helpers import (
    SENSOR,
    approve_from_discovery,
    approve_from_repairs,
    message,
    open_card,
    setup_alicia,
)

DEVICE = "kitchen_sensor"
REGISTER = f"alicia/system/discovery/register/{DEVICE}"
DATA = f"alicia/devices/{DEVICE}/data"


def fire(hass: HomeAssistant, topic: str, text: str) -> None:
    async_fire_mqtt_message(hass, topic, text)


async def register_signed(hass: HomeAssistant, key: KeyPair, **document: Any) -> None:
    payload = {**SENSOR, "public_key": key.public_key, **document}
    fire(hass, REGISTER, message(DEVICE, payload, key=key, topic=REGISTER))
    await hass.async_block_till_done()


async def send_data(
    hass: HomeAssistant, key: KeyPair | None, temperature: float, **changes: Any
) -> str:
    text = message(
        DEVICE, {"values": {"temperature": temperature}}, key=key, topic=DATA, **changes
    )
    fire(hass, DATA, text)
    await hass.async_block_till_done()
    return text


def temperature(hass: HomeAssistant) -> str:
    entity = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{DEVICE}_temperature"
    )
    assert entity is not None
    state = hass.states.get(entity)
    assert state is not None
    return state.state


def counts(entry: MockConfigEntry) -> dict[str, int]:
    return dict(entry.runtime_data.admission.audit.counts)


@pytest.fixture
async def approved(
    hass: HomeAssistant, entry: MockConfigEntry
) -> tuple[MockConfigEntry, KeyPair]:
    """A signed device, approved by the user after seeing its fingerprint."""
    key = KeyPair.generate()
    await register_signed(hass, key)
    card = await open_card(hass, DEVICE)
    assert card["description_placeholders"]["fingerprint"] == key.fingerprint
    await approve_from_discovery(hass, DEVICE)
    await send_data(hass, key, 21.5)
    assert temperature(hass) == "21.5"
    return entry, key


async def test_a_signed_device_waits_on_a_card_with_its_fingerprint(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    key = KeyPair.generate()
    await register_signed(hass, key)
    card = await open_card(hass, DEVICE)
    assert card["step_id"] == "device"
    assert card["description_placeholders"]["fingerprint"] == key.fingerprint


async def test_the_hub_signs_what_it_sends_and_publishes_its_key_and_trust_list(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    approved: tuple[MockConfigEntry, KeyPair],
) -> None:
    entry, key = approved
    published = {c.args[0]: c.args[1] for c in mqtt_mock.async_publish.call_args_list}
    hub_message = json.loads(published["alicia/system/security/hub"])
    hub_key = hub_message["payload"]["public_key"]
    assert hub_message["payload"]["fingerprint"] == fingerprint(hub_key)
    verify("alicia/system/security/hub", hub_message, hub_key)
    trust = json.loads(published["alicia/system/security/trust"])
    verify("alicia/system/security/trust", trust, hub_key)
    assert trust["payload"] == {
        "mode": "verify",
        "devices": {DEVICE: key.public_key},
        "areas": {DEVICE: "Kitchen"},  # where HA put it (its suggested area)
        "serial": entry.runtime_data.admission.trust_serial,
    }

    mqtt_mock.async_publish.reset_mock()
    await entry.runtime_data.link.async_command(DEVICE, "identify", "trigger")
    topic, text = mqtt_mock.async_publish.call_args.args[:2]
    command = json.loads(text)
    verify(topic, command, hub_key)  # a device can check the command came from the hub
    command["payload"]["action"] = "unlock"
    with pytest.raises(SecurityError):
        verify(topic, command, hub_key)
    # The key survives a restart: devices that pinned it keep trusting it.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.admission.key.public_key == hub_key


async def test_forged_wrong_key_replayed_and_skewed_messages_are_refused(
    hass: HomeAssistant, approved: tuple[MockConfigEntry, KeyPair]
) -> None:
    entry, key = approved
    events = async_capture_events(hass, f"{DOMAIN}_security_event")

    forged = json.loads(
        message(DEVICE, {"values": {"temperature": 99}}, key=key, topic=DATA)
    )
    forged["security"]["sig"] = base64.b64encode(bytes(64)).decode()
    fire(hass, DATA, json.dumps(forged))
    await send_data(hass, KeyPair.generate(), 98)  # another key
    replayed = await send_data(hass, key, 22.0)
    fire(hass, DATA, replayed)
    late = (datetime.now(UTC) - timedelta(seconds=45)).isoformat()
    early = (datetime.now(UTC) + timedelta(seconds=45)).isoformat()
    await send_data(hass, key, 97, timestamp=late)
    await send_data(hass, key, 96, timestamp=early)
    moved = message(DEVICE, {"values": {"temperature": 95}}, key=key, topic="elsewhere")
    fire(hass, DATA, moved)  # signed for another topic
    await hass.async_block_till_done()

    assert temperature(hass) == "22.0"  # only the genuine message got through
    found = counts(entry)
    assert found["bad_signature"] == 3
    assert found["replayed"] == 1
    assert found["stale"] == 2
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"bad_signature_{DEVICE}")
    assert issue is not None
    assert issue.severity == ir.IssueSeverity.ERROR
    assert {e.data["code"] for e in events} == {"bad_signature", "replayed", "stale"}
    assert all(e.data["source"] == DEVICE for e in events)

    sensor = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_security_refused"
    )
    assert sensor is not None
    await asyncio.sleep(1.1)  # the sensor is refreshed at most once a second
    state = hass.states.get(sensor)
    assert state is not None
    assert state.state == "6"
    assert state.attributes["bad_signature"] == 3
    assert (
        state.attributes["hub_key_fingerprint"]
        == entry.runtime_data.admission.key.fingerprint
    )

    # Valid traffic still flows.
    await send_data(hass, key, 23.5)
    assert temperature(hass) == "23.5"


async def test_unsigned_verify_flags_enforce_refuses(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    fire(hass, REGISTER, message(DEVICE, SENSOR))
    await hass.async_block_till_done()
    await approve_from_discovery(hass, DEVICE)
    await send_data(hass, None, 20.0)
    assert temperature(hass) == "20.0"
    assert counts(entry)["unsigned_accepted"] >= 2
    assert DEVICE in entry.runtime_data.admission.audit.unsigned_sources

    # One click: the select on the hub device.
    select = er.async_get(hass).async_get_entity_id(
        "select", DOMAIN, f"{entry.entry_id}_security_mode"
    )
    assert select is not None
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": select, "option": "enforce"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert entry.options["security_mode"] == "enforce"
    assert hass.states.get(select).state == "enforce"  # type: ignore[union-attr]
    await send_data(hass, None, 30.0)
    assert temperature(hass) == "20.0"
    assert counts(entry)["unsigned"] == 1

    await hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": "off"}, blocking=True
    )
    await hass.async_block_till_done()
    await send_data(hass, KeyPair.generate(), 31.0)  # off: not even checked
    assert temperature(hass) == "31.0"


async def test_enforce_refuses_devices_without_an_approved_key(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    entry = await setup_alicia(hass, {"security_mode": "enforce", "approval": "auto"})
    fire(hass, REGISTER, message(DEVICE, SENSOR))  # unsigned registration
    await hass.async_block_till_done()
    assert DEVICE not in entry.runtime_data.roster.devices
    key = KeyPair.generate()
    await register_signed(hass, key)
    assert DEVICE in entry.runtime_data.roster.devices  # auto approval, signed
    other = "hall_light"
    fire(
        hass,
        "alicia/integration/ha/command",
        message(other, {"action": "light.turn_on"}, "request", key=KeyPair.generate(),
                topic="alicia/integration/ha/command"),
    )  # fmt: skip
    await hass.async_block_till_done()
    assert counts(entry)["untrusted"] == 1
    assert counts(entry)["unsigned"] == 1


async def test_a_new_key_waits_for_the_user_and_the_approved_one_keeps_working(
    hass: HomeAssistant, approved: tuple[MockConfigEntry, KeyPair]
) -> None:
    entry, old = approved
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "approval": "auto"}
    )
    await hass.async_block_till_done()
    new = KeyPair.generate()
    await register_signed(hass, new)

    hub = entry.runtime_data
    assert (
        hub.roster.devices[DEVICE].public_key == old.public_key
    )  # not replaced, even with auto approval
    assert DEVICE in hub.approvals.pending
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{DEVICE}")
    assert issue is not None
    assert issue.translation_key == "key_changed"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["old_fingerprint"] == old.fingerprint
    assert issue.translation_placeholders["fingerprint"] == new.fingerprint
    assert counts(entry)["key_changed"] == 1
    await register_signed(hass, new)  # its retained registration again: still waiting
    await send_data(hass, new, 40.0)  # the offered key is not trusted yet
    assert temperature(hass) != "40.0"
    await send_data(hass, old, 41.0)  # the approved one still is: nobody is cut off
    assert temperature(hass) == "41.0"

    await approve_from_repairs(hass, f"pending_{DEVICE}")
    await send_data(hass, new, 42.0)
    assert temperature(hass) == "42.0"
    await send_data(hass, old, 43.0)  # the old key is no longer accepted
    assert temperature(hass) == "42.0"


async def test_a_flood_is_rate_limited_and_others_still_get_through(
    hass: HomeAssistant, approved: tuple[MockConfigEntry, KeyPair]
) -> None:
    entry, key = approved
    for value in range(300):
        fire(
            hass,
            DATA,
            message(DEVICE, {"values": {"temperature": value}}, key=key, topic=DATA),
        )
    await hass.async_block_till_done()
    dropped = counts(entry)["rate_limited"]
    assert 200 <= dropped < 300
    # Another device is not slowed down by the first one's flood.
    light = KeyPair.generate()
    topic = "alicia/system/discovery/register/hall_light"
    document = {**SENSOR, "device_id": "hall_light", "public_key": light.public_key}
    fire(hass, topic, message("hall_light", document, key=light, topic=topic))
    await hass.async_block_till_done()
    assert "hall_light" in entry.runtime_data.approvals.pending


async def test_mosquitto_acl_confines_each_device(
    hass: HomeAssistant, approved: tuple[MockConfigEntry, KeyPair]
) -> None:
    result = await hass.services.async_call(
        DOMAIN, "mosquitto_acl", {}, blocking=True, return_response=True
    )
    assert result is not None
    acl = str(result["acl"])
    block = acl.split(f"user {DEVICE}\n")[1].split("\n\n", maxsplit=1)[0].splitlines()
    assert "topic write alicia/devices/kitchen_sensor/data" in block
    assert "topic read alicia/devices/kitchen_sensor/#" in block
    assert not any("#" in line and "write" in line for line in block)
    assert (
        "topic readwrite alicia/#" in acl.split(f"user {DEVICE}", maxsplit=1)[0]
    )  # HA itself


async def test_only_an_admin_gets_the_mosquitto_acl(
    hass: HomeAssistant,
    approved: tuple[MockConfigEntry, KeyPair],
    hass_read_only_user: User,
) -> None:
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "mosquitto_acl", {}, blocking=True, return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )  # fmt: skip


async def test_diagnostics_show_security_without_secrets(
    hass: HomeAssistant, approved: tuple[MockConfigEntry, KeyPair]
) -> None:
    from custom_components.alicia.diagnostics import (
        async_get_config_entry_diagnostics,
    )

    entry, key = approved
    data = await async_get_config_entry_diagnostics(hass, entry)
    security = data["security"]
    assert security["mode"] == "verify"
    assert security["key_fingerprints"] == {DEVICE: key.fingerprint}
    assert security["counts"]["approvals"] == 1
    assert "PRIVATE KEY" not in json.dumps(data)
