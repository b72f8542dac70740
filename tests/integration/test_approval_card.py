"""The approval card ends saying what the user's choice did, not "The issue is repaired!" (#32, 7)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from alicia_bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN

from .helpers import SENSOR, message, repairs_manager

DEVICE = SENSOR["device_id"]
ISSUE = f"pending_{DEVICE}"
KEY = KeyPair.from_seed(bytes(range(1, 33)))


async def register(hass: HomeAssistant, key: KeyPair | None = None) -> None:
    """The kitchen sensor asks to join, signed with key (None: unsigned)."""
    topic = f"alicia/system/discovery/register/{DEVICE}"
    document = SENSOR | ({"public_key": key.public_key} if key else {})
    async_fire_mqtt_message(
        hass, topic, message(DEVICE, document, key=key, topic=topic)
    )
    await hass.async_block_till_done()


async def decide(hass: HomeAssistant, choice: str) -> tuple[dict[str, Any], str]:
    """Open the card, choose; the result and the text the frontend shows for it."""
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": ISSUE})
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": choice})
    await hass.async_block_till_done()
    texts = await async_get_translations(hass, "en", "issues", [DOMAIN])
    text = texts[
        f"component.{DOMAIN}.issues.{issue.translation_key}.fix_flow.abort.{result['reason']}"
    ]
    for name, value in (result.get("description_placeholders") or {}).items():
        text = text.replace(f"{{{name}}}", value)
    return dict(result), text


@pytest.mark.parametrize("key", [KEY, None], ids=["signed", "unsigned"])
async def test_approving_says_the_device_is_approved(
    hass: HomeAssistant, entry: MockConfigEntry, key: KeyPair | None
) -> None:
    await register(hass, key)

    result, text = await decide(hass, "approve")

    assert result["type"] == "abort"
    assert text == (
        "Kitchen sensor is approved. Its entities are on its device page "
        "(Settings → Devices & services → Alicia)."
    )
    assert DEVICE in entry.runtime_data.roster.devices
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


async def test_rejecting_says_the_device_is_forgotten(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, KEY)

    result, text = await decide(hass, "reject")

    assert result["type"] == "abort"
    assert text == (
        "Kitchen sensor is refused and forgotten. "
        "If it asks to join again, a new request appears here."
    )
    assert DEVICE not in entry.runtime_data.approvals.pending
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


@pytest.mark.parametrize(
    ("choice", "said"),
    [
        ("approve", "Kitchen sensor now signs with the new key; messages signed "
         "with its old key are refused."),
        ("reject", "Kitchen sensor keeps its approved key; messages signed with "
         "the offered one stay refused."),
    ],
)  # fmt: skip
async def test_a_key_change_says_which_key_counts(
    hass: HomeAssistant, entry: MockConfigEntry, choice: str, said: str
) -> None:
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, KEY)
    entry.runtime_data.approvals.set_permit(False)
    offered = KeyPair.generate()
    await register(hass, offered)

    _, text = await decide(hass, choice)

    assert text == said
    kept = offered if choice == "approve" else KEY
    assert entry.runtime_data.roster.devices[DEVICE].public_key == kept.public_key


@pytest.mark.parametrize("choice", ["approve", "reject"])
async def test_a_decided_request_cannot_be_decided_again(
    hass: HomeAssistant, entry: MockConfigEntry, choice: str
) -> None:
    """A card left open after the device was approved elsewhere changes nothing."""
    await register(hass, KEY)
    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": ISSUE})
    entry.runtime_data.approvals.approve(DEVICE)

    result = await manager.async_configure(flow["flow_id"], {"next_step_id": choice})

    assert result["reason"] == "device_gone"
    assert DEVICE in entry.runtime_data.roster.devices


@pytest.mark.parametrize("choice", ["approve", "reject"])
async def test_a_request_changed_while_its_card_is_open_is_not_decided(
    hass: HomeAssistant, entry: MockConfigEntry, choice: str
) -> None:
    """The attack: the card shows one unsigned device; another registers under its id; the user clicks."""
    await register(hass)
    manager = await repairs_manager(hass)
    flow = await manager.async_init(DOMAIN, data={"issue_id": ISSUE})
    # Same id, same (no) key: what the user is looking at is no longer what waits.
    topic = f"alicia/system/discovery/register/{DEVICE}"
    swapped = SENSOR | {"name": "Front door lock", "device_type": "actuator"}
    async_fire_mqtt_message(hass, topic, message(DEVICE, swapped, topic=topic))
    await hass.async_block_till_done()

    result = await manager.async_configure(flow["flow_id"], {"next_step_id": choice})
    await hass.async_block_till_done()

    assert result["type"] == "abort"
    assert result["reason"] == "changed_meanwhile"
    approvals = entry.runtime_data.approvals
    assert DEVICE not in entry.runtime_data.roster.devices
    assert approvals.pending[DEVICE].name == "Front door lock"
    # The card shown now is the new request's, and it can be decided.
    decided, _ = await decide(hass, choice)
    assert decided["reason"] == (
        "device_approved" if choice == "approve" else "device_refused"
    )
