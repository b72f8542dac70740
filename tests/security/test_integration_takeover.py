"""Attacks by an approved device on another's approval, and on its own: adopting a pending device, asking for more."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import (
    LIGHT,
    SENSOR,
    message,
    open_card,
    recorded,
    register,
    repairs_manager,
)

from .devices import ATTACKER, REGISTER, VICTIM, data, publish, register_signed

VOICE_RESULT = "alicia/voice/command/response"
UNREGISTER = "alicia/system/discovery/unregister"
GOODNIGHT = {"transcript": "Good night", "answer": "Sleep well.", "language": "en"}


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The user approves each device on its card."""
    return {}


@pytest.fixture
async def attacker(hass: HomeAssistant, entry: MockConfigEntry) -> KeyPair:
    """The hall light, approved by the user (in the permit window) with its own key."""
    key = KeyPair.generate()
    entry.runtime_data.approvals.set_permit(True)
    await register_signed(hass, LIGHT, key)
    entry.runtime_data.approvals.set_permit(False)
    return key


async def adopt(hass: HomeAssistant, key: KeyPair, offer: KeyPair | None) -> None:
    """The attacker registers the victim behind itself (offering the victim's key, or none)."""
    topic = REGISTER.format(VICTIM)
    document = {**SENSOR, "via_device": ATTACKER}
    if offer is not None:
        document["public_key"] = offer.public_key
    publish(hass, topic, message(ATTACKER, document, key=key, topic=topic))
    await hass.async_block_till_done()


async def test_an_approved_device_cannot_adopt_a_pending_one_behind_its_card(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """The attack: while the victim's card is open, the attacker re-registers it behind itself."""
    hub, victim = entry.runtime_data, KeyPair.generate()
    await register_signed(hass, SENSOR, victim)
    card = await open_card(hass, VICTIM)

    await adopt(hass, attacker, offer=victim)
    await adopt(hass, attacker, offer=None)

    assert hub.approvals.pending[VICTIM].via_device is None
    result = await hass.config_entries.flow.async_configure(
        card["flow_id"], {"next_step_id": "approve_device"}
    )
    assert (result["type"], result["reason"]) == ("abort", "device_approved")
    assert hub.roster.devices[VICTIM].via_device is None
    await data(hass, VICTIM, ATTACKER, attacker, 99.9)
    assert hub.roster.devices[VICTIM].values.get("temperature") != 99.9


async def test_a_device_registered_behind_another_carries_no_key(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """The attack: the victim's key, copied from its retained registration, offered by its adopter."""
    await adopt(hass, attacker, offer=KeyPair.generate())
    assert VICTIM not in entry.runtime_data.approvals.pending


async def test_the_card_says_who_speaks_for_the_device(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """A device registered behind another: its card names that device, in the digest the decision binds to."""
    await adopt(hass, attacker, offer=None)
    card = await open_card(hass, VICTIM)
    assert card["description_placeholders"]["via_device"] == (
        "**Hall light** (`hall_light`), which sends and changes everything of this device"
    )


async def test_an_approved_device_asking_for_more_waits_for_the_user(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """The attack: the approved light re-registers as a voice server (same key, stt and ai added)."""
    hub, fired = entry.runtime_data, recorded(hass, "alicia_voice_command")
    escalated = {**LIGHT, "capabilities": [*LIGHT["capabilities"], "stt", "ai"]}
    await register_signed(hass, escalated, attacker)

    approved = [c.name for c in hub.roster.devices[ATTACKER].record.capabilities]
    assert approved == ["light", "identify"]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{ATTACKER}")
    assert issue is not None
    assert issue.translation_key == "more_asked"
    assert (issue.translation_placeholders or {})["capabilities"].endswith("stt, ai")
    text = message(ATTACKER, GOODNIGHT, "response", key=attacker,
                   topic=VOICE_RESULT, correlation_id="q1", destination=VICTIM)  # fmt: skip
    publish(hass, VOICE_RESULT, text)
    await hass.async_block_till_done()
    assert fired == []

    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{ATTACKER}"})
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": "reject"})
    assert (result["type"], result["reason"]) == ("abort", "device_refused")
    assert ATTACKER not in hub.approvals.pending
    assert [c.name for c in hub.roster.devices[ATTACKER].record.capabilities] == (
        approved
    )


@pytest.mark.parametrize(
    "change",
    [{"device_type": "service"}, {"via_device": VICTIM}],
    ids=["device-type", "via-device"],
)
async def test_another_type_or_hub_is_more_too(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    attacker: KeyPair,
    change: dict[str, str],
) -> None:
    """The attack: the same key, another device type or another device to speak through."""
    await register_signed(hass, {**LIGHT, **change}, attacker)
    hub = entry.runtime_data
    assert ATTACKER in hub.approvals.pending
    assert hub.roster.devices[ATTACKER].record.document["device_type"] == "actuator"
    assert hub.roster.devices[ATTACKER].via_device is None


async def test_a_registration_asking_for_less_is_followed_at_once(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """Not an attack: a firmware update that drops a capability and renames the device."""
    fewer = {**LIGHT, "name": "Hall lamp", "capabilities": LIGHT["capabilities"][:1]}
    await register_signed(hass, fewer, attacker)
    hub = entry.runtime_data
    assert ATTACKER not in hub.approvals.pending
    assert hub.roster.devices[ATTACKER].name == "Hall lamp"


async def test_the_repair_dialog_shows_what_it_decides(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """The attack: new keys offered while the user reads the list of repairs; the dialog shows, and binds, the newest."""
    hub, offered = entry.runtime_data, [KeyPair.generate() for _ in range(3)]
    await register_signed(hass, LIGHT, offered[0])
    await register_signed(hass, LIGHT, offered[1])  # after the list was drawn
    manager = await repairs_manager(hass)
    dialog = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{ATTACKER}"})
    shown = (dialog["description_placeholders"] or {})["fingerprint"]
    assert shown == hub.approvals.pending[ATTACKER].fingerprint

    await register_signed(hass, LIGHT, offered[2])  # after the dialog opened
    result = await manager.async_configure(
        dialog["flow_id"], {"next_step_id": "approve"}
    )
    assert result["reason"] == "key_changed_meanwhile"
    assert hub.roster.devices[ATTACKER].public_key == attacker.public_key


async def test_what_was_approved_is_kept_when_a_device_asks_for_less(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """A capability gone for a while comes back without asking, also after a restart; more than approved still asks."""
    await register_signed(hass, {**LIGHT, "capabilities": ["identify"]}, attacker)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    hub = entry.runtime_data

    await register_signed(hass, LIGHT, attacker)
    assert ATTACKER not in hub.approvals.pending
    assert [c.name for c in hub.roster.devices[ATTACKER].record.capabilities] == [
        "light",
        "identify",
    ]
    await register_signed(hass, {**LIGHT, "capabilities": ["light", "stt"]}, attacker)
    assert ATTACKER in hub.approvals.pending


async def leave(hass: HomeAssistant, key: KeyPair) -> None:
    """The attacker unregisters itself (its own word is enough)."""
    topic = "alicia/system/discovery/unregister"
    publish(
        hass, topic, message(ATTACKER, {"device_id": ATTACKER}, key=key, topic=topic)
    )
    await hass.async_block_till_done()


@pytest.mark.parametrize("offer", ["same-key", "another-key"])
async def test_leaving_and_registering_again_with_more_still_asks(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair, offer: str
) -> None:
    """The attack: its 'more' card open, it unregisters and registers as new while the permit window is open."""
    hub = entry.runtime_data
    key = attacker if offer == "same-key" else KeyPair.generate()
    escalated = {**LIGHT, "capabilities": [*LIGHT["capabilities"], "stt", "ai"]}
    await register_signed(hass, escalated, attacker)
    await leave(hass, attacker)
    hub.approvals.set_permit(True)

    await register_signed(hass, escalated if offer == "same-key" else LIGHT, key)

    assert ATTACKER not in hub.roster.devices
    assert ATTACKER in hub.approvals.pending


async def test_a_device_that_left_returns_within_what_it_had(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """Not an attack: a device re-registering after leaving, asking no more, follows the usual rules."""
    hub = entry.runtime_data
    await leave(hass, attacker)
    hub.approvals.set_permit(True)

    await register_signed(hass, LIGHT, attacker)

    assert ATTACKER in hub.roster.devices
    assert not hub.approvals.tombstones.grants


async def test_a_capabilitys_type_alone_asks_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """A firmware update naming its capabilities' types: the card would show two identical lists."""
    typed = [{"name": "light", "type": "light"}, {"name": "identify", "type": "button"}]
    await register_signed(hass, {**LIGHT, "capabilities": typed}, attacker)

    assert ATTACKER not in entry.runtime_data.approvals.pending
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{ATTACKER}") is None


async def test_removing_a_hub_removes_the_devices_behind_it(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """The attack: the hub removed, its id is nobody's; whoever takes it would speak for its children."""
    hub = entry.runtime_data
    topic = REGISTER.format(VICTIM)
    behind = {**SENSOR, "via_device": ATTACKER}
    publish(hass, topic, message(ATTACKER, behind, key=attacker, topic=topic))
    await hass.async_block_till_done()
    hub.approvals.approve(VICTIM)
    waiting = {**behind, "device_id": "porch_sensor"}
    topic = REGISTER.format("porch_sensor")
    publish(hass, topic, message(ATTACKER, waiting, key=attacker, topic=topic))
    await hass.async_block_till_done()

    hub.approvals.remove(ATTACKER)
    await hass.async_block_till_done()

    assert VICTIM not in hub.roster.devices
    assert "porch_sensor" not in hub.approvals.pending
    await data(hass, VICTIM, ATTACKER, None, 66.6)  # a stranger, as the removed hub
    assert VICTIM not in hub.roster.devices


async def test_strangers_filling_the_pending_list_do_not_silence_an_approved_device(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    attacker: KeyPair,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack: made-up ids fill the pending places; the light's key change must still reach the user."""
    monkeypatch.setattr("custom_components.alicia.pending.MAX_PENDING", 2)
    hub = entry.runtime_data
    for index in range(4):
        await register(hass, {**SENSOR, "device_id": f"junk_{index}"})

    await register_signed(hass, LIGHT, KeyPair.generate())

    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{ATTACKER}")
    assert list(hub.approvals.pending) == ["junk_2", "junk_3", ATTACKER]
    await register(hass, {**SENSOR, "device_id": "junk_4"})  # the oldest stranger goes
    assert list(hub.approvals.pending) == ["junk_3", ATTACKER, "junk_4"]


async def test_strangers_filling_the_refusal_cards_leave_room_for_the_newest(
    hass: HomeAssistant, entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: broken registrations under made-up ids; a real device's mistake still gets its card."""
    monkeypatch.setattr("custom_components.alicia.refusals.MAX_REFUSED", 2)
    for device_id in ("bad_0", "bad_1", "new_plug"):
        await register(hass, {"device_id": device_id, "capabilities": []})

    assert list(entry.runtime_data.approvals.refusals.reasons) == ["bad_1", "new_plug"]
    assert ir.async_get(hass).async_get_issue(DOMAIN, "refused_bad_0") is None


async def test_a_device_that_left_is_not_brought_back_by_its_own_words(
    hass: HomeAssistant, entry: MockConfigEntry, attacker: KeyPair
) -> None:
    """The attack: the light's newest registration, replayed after it unregistered, made it approved again."""
    entry.runtime_data.approvals.set_permit(True)  # new devices are let in meanwhile
    newest = message(ATTACKER, {**LIGHT, "public_key": attacker.public_key},
                     key=attacker, topic=REGISTER.format(ATTACKER))  # fmt: skip
    await asyncio.sleep(0.01)  # it leaves later than it registered
    leaving = message(ATTACKER, {"device_id": ATTACKER}, key=attacker, topic=UNREGISTER)
    publish(hass, UNREGISTER, leaving)
    await hass.async_block_till_done()
    assert ATTACKER not in entry.runtime_data.roster.devices

    publish(hass, REGISTER.format(ATTACKER), newest, retain=True)
    await hass.async_block_till_done()
    assert ATTACKER not in entry.runtime_data.roster.devices
