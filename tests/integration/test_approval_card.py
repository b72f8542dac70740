"""A device asking to join is a discovered device on Alicia's page: its card, the user's choice (#32)."""

from __future__ import annotations

from dataclasses import replace
import json
from typing import Any

from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import (
    MqttMockHAClient,
    WebSocketGenerator,
)

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from custom_components.alicia.markdown import literal

from .helpers import (
    SENSOR,
    approval_flows,
    decide,
    message,
    open_card,
    repairs_manager,
)

DEVICE = SENSOR["device_id"]
KEY = KeyPair.from_seed(bytes(range(1, 33)))


async def register(
    hass: HomeAssistant, key: KeyPair | None = None, **changes: Any
) -> None:
    """The kitchen sensor asks to join, signed with key (None: unsigned)."""
    topic = f"alicia/system/discovery/register/{DEVICE}"
    document = SENSOR | changes | ({"public_key": key.public_key} if key else {})
    async_fire_mqtt_message(
        hass, topic, message(DEVICE, document, key=key, topic=topic)
    )
    await hass.async_block_till_done()


async def said(hass: HomeAssistant, result: Any, category: str = "config") -> str:
    """The text HA's frontend shows for an abort."""
    texts = await async_get_translations(hass, "en", category, [DOMAIN])
    key = f"component.{DOMAIN}.config.abort.{result['reason']}"
    text = texts[key]
    for name, value in (result.get("description_placeholders") or {}).items():
        text = text.replace(f"{{{name}}}", value)
    return text


async def test_a_new_device_is_discovered_not_a_warning(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, KEY)

    (flow,) = approval_flows(hass, DEVICE)
    assert flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    assert flow["context"]["title_placeholders"] == {"name": "Kitchen sensor"}
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{DEVICE}") is None


@pytest.mark.parametrize(
    ("key", "step"), [(KEY, "device"), (None, "unsigned_device")],
    ids=["signed", "unsigned"],
)  # fmt: skip
async def test_the_card_shows_who_asks(
    hass: HomeAssistant, entry: MockConfigEntry, key: KeyPair | None, step: str
) -> None:
    await register(hass, key)

    card = await open_card(hass, DEVICE)

    assert (card["type"], card["step_id"]) == ("menu", step)
    assert card["menu_options"] == ["approve_device", "reject_device"]
    shown = card["description_placeholders"]
    assert shown["name"] == "Kitchen sensor"
    assert (shown["manufacturer"], shown["model"]) == (literal("Acme"), literal("TH-1"))
    assert shown["device_type"] == "a sensor (it measures or detects)"
    assert shown["fingerprint"] == (KEY.fingerprint if key else "none (unsigned)")


async def test_a_service_is_shown_with_what_the_broker_lets_it_hear(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """A device calling itself a service is approved knowing it hears every voice request (the ACL's)."""
    await register(hass, KEY, device_type="service")
    card = await open_card(hass, DEVICE)
    assert (
        "hear every device's voice requests"
        in (card["description_placeholders"]["device_type"])
    )


@pytest.mark.parametrize("key", [KEY, None], ids=["signed", "unsigned"])
async def test_approving_says_the_device_is_approved(
    hass: HomeAssistant, entry: MockConfigEntry, key: KeyPair | None
) -> None:
    await register(hass, key)

    result = await decide(hass, DEVICE, "approve_device")

    assert await said(hass, result) == (
        "Kitchen sensor is approved. Its entities are on its device page "
        "(Settings → Devices & services → Alicia)."
    )
    assert DEVICE in entry.runtime_data.roster.devices
    assert approval_flows(hass) == []


async def test_approving_asks_the_device_for_every_value(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """What it reported while waiting was refused: approved, it is asked to report now."""
    await register(hass, KEY)
    mqtt_mock.async_publish.reset_mock()

    await decide(hass, DEVICE, "approve_device")

    commands = [
        json.loads(call.args[1])
        for call in mqtt_mock.async_publish.call_args_list
        if call.args[0] == f"alicia/devices/{DEVICE}/command"
    ]
    assert [c["payload"] for c in commands] == [{"action": "report", "params": {}}]
    assert commands[0]["security"]["alg"] == "ed25519"  # signed by HA's key


async def test_rejecting_says_the_device_is_forgotten(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, KEY)

    result = await decide(hass, DEVICE, "reject_device")

    assert await said(hass, result) == (
        "Kitchen sensor is refused and forgotten. "
        "If it asks to join again, it appears again under Discovered."
    )
    assert DEVICE not in entry.runtime_data.approvals.pending
    assert approval_flows(hass) == []


async def test_the_same_request_again_keeps_one_card(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """A device that registers again (each reconnect) does not pile up cards."""
    for _ in range(3):
        await register(hass, KEY)

    assert len(approval_flows(hass, DEVICE)) == 1


async def test_a_card_decided_elsewhere_is_gone(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Approved by the action or the permit window: the open card decides nothing more."""
    await register(hass, KEY)
    card = await open_card(hass, DEVICE)

    entry.runtime_data.approvals.approve(DEVICE)

    assert approval_flows(hass) == []
    with pytest.raises(UnknownFlow):
        await hass.config_entries.flow.async_configure(
            card["flow_id"], {"next_step_id": "reject_device"}
        )
    assert DEVICE in entry.runtime_data.roster.devices


async def test_a_request_changed_while_its_card_is_open_is_not_decided(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The attack: the card shows one unsigned device; another registers under its id; the user clicks."""
    await register(hass)
    card = await open_card(hass, DEVICE)

    await register(hass, name="Front door lock", device_type="actuator")

    with pytest.raises(UnknownFlow):
        await hass.config_entries.flow.async_configure(
            card["flow_id"], {"next_step_id": "approve_device"}
        )
    assert DEVICE not in entry.runtime_data.roster.devices
    # The card shown now is the new request's, and it can be decided.
    new = await open_card(hass, DEVICE)
    assert new["description_placeholders"]["name"] == "Front door lock"
    assert new["description_placeholders"]["device_type"] == (
        "an actuator (it switches or controls something)"
    )


async def test_a_change_between_showing_and_clicking_decides_nothing(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Even a flow HA has not closed yet checks the request against what its card showed."""
    await register(hass, KEY)
    (flow,) = approval_flows(hass, DEVICE)
    approvals = entry.runtime_data.approvals
    # The request changes without the card being replaced (as if offered late).
    approvals.pending[DEVICE] = replace(
        approvals.pending[DEVICE], name="Front door lock"
    )

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"next_step_id": "approve_device"}
    )

    assert result["reason"] == "changed_meanwhile"
    assert DEVICE not in entry.runtime_data.roster.devices


async def test_ignoring_refuses_until_the_user_stops_ignoring(
    hass: HomeAssistant, entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    await register(hass, KEY)
    (flow,) = approval_flows(hass, DEVICE)
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)

    await client.send_json_auto_id(
        {"type": "config_entries/ignore_flow", "flow_id": flow["flow_id"], "title": "x"}
    )
    assert (await client.receive_json())["success"]
    await hass.async_block_till_done()
    await register(hass, KEY)

    assert approval_flows(hass) == []
    assert DEVICE not in entry.runtime_data.roster.devices
    (ignored,) = hass.config_entries.async_entries(DOMAIN, include_ignore=True)[1:]
    assert (ignored.source, ignored.unique_id) == (SOURCE_IGNORE, f"device:{DEVICE}")
    # Stop ignoring: the card is back, the hub untouched.
    await hass.config_entries.async_remove(ignored.entry_id)
    await hass.async_block_till_done()
    assert len(approval_flows(hass, DEVICE)) == 1
    assert entry.runtime_data is not None


async def test_a_waiting_device_is_offered_again_after_a_restart(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, KEY)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    (flow,) = approval_flows(hass, DEVICE)
    card = await open_card(hass, DEVICE)
    assert card["description_placeholders"]["name"] == "Kitchen sensor"
    assert flow["flow_id"] == card["flow_id"]


async def test_unloading_closes_the_cards(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, KEY)

    assert await hass.config_entries.async_unload(entry.entry_id)

    assert approval_flows(hass) == []


@pytest.mark.parametrize(
    ("choice", "text"),
    [
        ("approve", "Kitchen sensor now has what this request showed: the key it "
         "offered and all it asked for. Messages signed with any other key are "
         "refused."),
        ("reject", "Kitchen sensor keeps what you approved, its approved key too; "
         "messages signed with another key stay refused. If it asks again, you "
         "are asked again."),
    ],
)  # fmt: skip
async def test_a_key_change_is_a_repair_that_says_which_key_counts(
    hass: HomeAssistant, entry: MockConfigEntry, choice: str, text: str
) -> None:
    """A known device offering another key may be an impersonation: a repair, not a discovery."""
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, KEY)
    entry.runtime_data.approvals.set_permit(False)
    offered = KeyPair.generate()
    await register(hass, offered)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{DEVICE}")
    assert issue is not None
    assert (issue.severity, issue.translation_key) == ("error", "key_changed")
    assert approval_flows(hass) == []

    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{DEVICE}"})
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": choice})
    await hass.async_block_till_done()

    texts = await async_get_translations(hass, "en", "issues", [DOMAIN])
    shown = texts[
        f"component.{DOMAIN}.issues.key_changed.fix_flow.abort.{result['reason']}"
    ]
    name = (result.get("description_placeholders") or {})["name"]
    assert shown.replace("{name}", name) == text
    kept = offered if choice == "approve" else KEY
    assert entry.runtime_data.roster.devices[DEVICE].public_key == kept.public_key
