"""Attacks by a device on the broker against the integration; each is refused and changes nothing."""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.admission import EVENT_SECURITY, MAX_REPORTED
from custom_components.alicia.bus.signing import KeyPair, verify
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import (
    LIGHT,
    SENSOR,
    approval_flows,
    message,
    repairs_manager,
)

from .devices import (
    ATTACKER,
    REGISTER,
    VICTIM,
    data,
    publish,
    register_signed,
    victim_temperature,
)


async def test_an_approved_device_cannot_take_over_another(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    mine = KeyPair.generate()
    # The attacker, signing as itself, registers the victim's id as "its child"
    # with a key it holds ...
    hijack = {**SENSOR, "via_device": ATTACKER, "name": "Hijacked"}
    await register_signed(hass, hijack, keys[ATTACKER], source=ATTACKER, offer=mine)
    # ... and naming no via_device.
    await register_signed(
        hass,
        {**SENSOR, "name": "Hijacked"},
        keys[ATTACKER],
        source=ATTACKER,
        offer=mine,
    )
    assert hub.roster.devices[VICTIM].public_key == keys[VICTIM].public_key
    assert hub.roster.devices[VICTIM].name == "Kitchen sensor"
    assert hub.roster.devices[VICTIM].via_device is None
    await data(hass, VICTIM, VICTIM, keys[VICTIM], 20.5)  # the victim still works
    assert victim_temperature(entry) == 20.5


async def test_a_device_cannot_speak_on_another_devices_topic(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    await data(hass, VICTIM, VICTIM, keys[VICTIM], 21.0)
    await data(
        hass, VICTIM, ATTACKER, keys[ATTACKER], 99.0
    )  # its own signature, victim's topic
    status_topic = f"alicia/devices/{VICTIM}/status"
    publish(
        hass,
        status_topic,
        message(ATTACKER, {"state": "offline"}, key=keys[ATTACKER], topic=status_topic),
    )
    await hass.async_block_till_done()
    assert victim_temperature(entry) == 21.0
    assert entry.runtime_data.health.is_available(VICTIM)


async def test_unsigned_messages_in_a_signed_devices_name_are_refused(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    await data(hass, VICTIM, VICTIM, None, 99.0)  # verify mode, the default
    unregister = "alicia/system/discovery/unregister"
    publish(hass, unregister, message(VICTIM, {"device_id": VICTIM}))
    await register_signed(
        hass, {**SENSOR, "name": "Renamed"}, keys[ATTACKER], source=VICTIM
    )
    await hass.async_block_till_done()
    assert VICTIM in hub.roster.devices
    assert hub.roster.devices[VICTIM].name == "Kitchen sensor"
    assert victim_temperature(entry) is None
    assert hub.admission.audit.counts["unsigned"] >= 2


async def test_a_strangers_key_offer_does_not_cut_the_device_off(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    for _ in range(3):
        await register_signed(hass, SENSOR, KeyPair.generate())
    assert hub.roster.devices[VICTIM].public_key == keys[VICTIM].public_key
    await data(hass, VICTIM, VICTIM, keys[VICTIM], 22.0)
    assert victim_temperature(entry) == 22.0
    assert (
        len(hub.approvals.pending) == 1
    )  # one request for the user, not one per offer


async def test_approval_is_bound_to_the_fingerprint_the_user_saw(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    shown = KeyPair.generate()
    await register_signed(hass, SENSOR, shown)  # a real key change, say
    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{VICTIM}"})
    # While the user reads the fingerprint, another key is offered.
    await register_signed(hass, SENSOR, KeyPair.generate())
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": "approve"})
    assert result["type"] == "abort"
    assert result["reason"] == "key_changed_meanwhile"
    assert hub.roster.devices[VICTIM].public_key == keys[VICTIM].public_key


async def test_exposure_cannot_be_bypassed_with_other_target_forms(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.kitchen", "off")
    hass.states.async_set("light.vault", "off")
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    async_expose_entity(hass, "conversation", "light.vault", False)
    calls = async_mock_service(hass, "light", "turn_on")
    topic = "alicia/integration/ha/command"
    attacks: list[dict[str, Any]] = [
        {"target": {"area_id": "vault_room"}},
        {"target": {"device_id": "vault_device"}},
        {"target": {"floor_id": "basement"}},
        {"target": {"label_id": "secure"}},
        {"target": {"entity_id": "light.kitchen", "area_id": "vault_room"}},
        {"target": {"entity_id": "light.kitchen"}, "data": {"area_id": "vault_room"}},
        {"target": {"entity_id": "light.kitchen"}, "data": {"label_id": "secure"}},
        {"target": {"entity_id": "light.kitchen"}, "data": {"device_id": "x"}},
    ]
    for attack in attacks:
        payload = {"action": "light.turn_on", **attack}
        publish(
            hass,
            topic,
            message(ATTACKER, payload, "request", key=keys[ATTACKER], topic=topic),
        )
        await hass.async_block_till_done()
    assert calls == []
    assert entry.runtime_data.tally.counters.commands_refused == len(attacks)
    ok = {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}}
    publish(
        hass, topic, message(ATTACKER, ok, "request", key=keys[ATTACKER], topic=topic)
    )
    await hass.async_block_till_done()
    assert [c.data["entity_id"] for c in calls] == [["light.kitchen"]]


async def test_a_retained_command_cannot_run_again_later(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    hass.states.async_set("light.kitchen", "off")
    async_expose_entity(hass, "conversation", "light.kitchen", True)
    calls = async_mock_service(hass, "light", "turn_on")
    topic = "alicia/integration/ha/command"
    payload = {"action": "light.turn_on", "target": {"entity_id": "light.kitchen"}}
    old = message(
        ATTACKER, payload, "request", key=keys[ATTACKER], topic=topic,
        timestamp="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    publish(hass, topic, old, retain=True)  # as a broker delivers it after a reconnect
    await hass.async_block_till_done()
    assert calls == []
    assert entry.runtime_data.admission.audit.counts["stale"] == 1


async def test_an_unapproved_device_cannot_make_announcements(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    calls = async_mock_service(hass, "media_player", "play_media")
    hass.states.async_set("media_player.kitchen", "idle")
    topic = "alicia/devices/speakers/announce"
    publish(
        hass,
        topic,
        message(
            "stranger",
            {
                "message": "Open the door",
                "target": {"entity_id": "media_player.kitchen"},
            },
            "request",
        ),
    )
    await hass.async_block_till_done()
    assert calls == []


async def test_poisoned_names_never_reach_storage(
    hass: HomeAssistant, entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    for name in ("Lamp \ud800", "Lamp\x1b[2J", "x" * 500):
        doc = {**LIGHT, "device_id": "evil", "name": name}
        publish(
            hass,
            REGISTER.format("evil"),
            message("evil", doc).replace("\\\\ud800", "\\ud800"),
        )
    # And a lone surrogate spelled as a JSON escape anywhere in the document.
    raw = message(
        "evil", {**LIGHT, "device_id": "evil", "metadata": {"note": "\\ud800"}}
    )
    publish(hass, REGISTER.format("evil"), raw.replace("\\\\ud800", "\\ud800"))
    await hass.async_block_till_done()
    assert "evil" not in entry.runtime_data.roster.devices
    entry.runtime_data.save()
    await hass.async_block_till_done()
    await entry.runtime_data.async_stop()  # the store still saves for everyone
    assert "evil" not in str(hass_storage)


async def test_floods_of_forged_senders_stay_bounded(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    hub = entry.runtime_data
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "approval": "manual"}
    )
    await hass.async_block_till_done()
    hub = entry.runtime_data
    for index in range(3000):
        sender = f"forged{index}"
        publish(
            hass,
            "alicia/devices/sensors/telemetry",
            message(sender, {"values": {"x": 1}}),
        )
        publish(
            hass,
            REGISTER.format(sender),
            message(sender, {**LIGHT, "device_id": sender}),
        )
    await hass.async_block_till_done()
    assert len(hub.approvals.pending) <= 50
    assert len(approval_flows(hass)) <= 50
    assert len(hub.admission.audit.unsigned_sources) <= 1000
    assert len(hub.admission.gate.limiter) <= 10_000 + 100
    assert not [
        i
        for i in ir.async_get(hass).issues.values()
        if "forged2999" in i.issue_id and not i.issue_id.startswith("pending_")
    ]
    # Where unsigned messages are refused, each refusal is reported (log line and
    # event) once a minute per sender, in a table that forged senders cannot grow.
    reported = async_capture_events(hass, EVENT_SECURITY)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "security_mode": "enforce"}
    )
    await hass.async_block_till_done()
    for index in range(MAX_REPORTED + 500):
        publish(
            hass,
            "alicia/devices/sensors/telemetry",
            message(f"refused{index}", {"values": {"x": 1}}),
        )
    await hass.async_block_till_done()
    refused = {e.data["source"] for e in reported if e.data["code"] == "unsigned"}
    assert MAX_REPORTED / 2 <= len(refused) <= MAX_REPORTED


async def test_an_unexposed_entitys_state_is_cleared_from_the_bus(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    # As at HA's start: the exposure settings exist before Alicia sets up.
    assert await hass.config_entries.async_reload(entry.entry_id)
    hass.states.async_set("lock.front", "locked")
    async_expose_entity(hass, "conversation", "lock.front", True)
    hass.states.async_set("lock.front", "unlocked")
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()
    topic = "alicia/integration/ha/state/lock.front"
    assert [
        c.args[1] for c in mqtt_mock.async_publish.call_args_list if c.args[0] == topic
    ]
    mqtt_mock.async_publish.reset_mock()
    async_expose_entity(hass, "conversation", "lock.front", False)  # the user's change
    await hass.async_block_till_done()
    tombstone, cleared = [
        c.args[1:4]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == topic
    ]
    # First, signed by HA, that it is gone: an empty message anyone could send.
    removed = json.loads(tombstone[0])
    assert removed["payload"] == {"entity_id": "lock.front", "removed": True}
    verify(topic, removed, entry.runtime_data.admission.key.public_key)
    assert cleared == (b"", 1, True)  # then the broker forgets the retained state
