"""An approved device's request on its repair card: the dialog shows all that approving grants."""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from custom_components.alicia.markdown import literal
from custom_components.alicia.repairs import ApproveDeviceFlow

from .helpers import SENSOR, message, repairs_manager

DEVICE = SENSOR["device_id"]
TOPIC = f"alicia/system/discovery/register/{DEVICE}"
OWNER = KeyPair.from_seed(bytes(range(1, 33)))
ATTACKER = KeyPair.from_seed(bytes(range(2, 34)))
# What makes a sensor hear every device's voice requests and speak in the home.
VOICE = ["stt", "ai", "announce", "microphone"]
# An approved device's requests: another key, more, or both (a dialog step each).
KINDS = ("key_changed", "more_asked", "key_changed_more")
STRINGS = Path(__file__).parents[2] / "custom_components/alicia/strings.json"


@dataclass(frozen=True)
class Listed:
    """An issue as the frontend's list holds it when the user clicks it."""

    translation_key: str
    placeholders: dict[str, str]


async def register(hass: HomeAssistant, key: KeyPair, **changes: Any) -> None:
    """The kitchen sensor's registration, signed with key (with changes to it)."""
    document = SENSOR | changes | {"public_key": key.public_key}
    async_fire_mqtt_message(
        hass, TOPIC, message(DEVICE, document, key=key, topic=TOPIC)
    )
    await hass.async_block_till_done()


async def approved(entry: MockConfigEntry, hass: HomeAssistant, **changes: Any) -> None:
    """The kitchen sensor, approved with the owner's key (the permit window)."""
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, OWNER, **changes)
    entry.runtime_data.approvals.set_permit(False)
    assert DEVICE in entry.runtime_data.roster.devices


def listed(hass: HomeAssistant) -> Listed:
    """The device's request as Settings → Repairs lists it now."""
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{DEVICE}")
    assert issue is not None
    assert issue.translation_key is not None
    return Listed(issue.translation_key, dict(issue.translation_placeholders or {}))


async def dialog(hass: HomeAssistant, clicked: Listed) -> tuple[Any, str]:
    """The repair dialog the user opens from a listed issue, and its text as the frontend renders it.

    The frontend takes the text by the listed issue's translation key and the
    flow's step, the step's placeholders over the listed ones (mergePlaceholders).
    """
    manager = await repairs_manager(hass)
    flow: Any = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{DEVICE}"})
    texts = await async_get_translations(hass, "en", "issues", [DOMAIN])
    issue = f"component.{DOMAIN}.issues.{clicked.translation_key}"
    step = f"{issue}.fix_flow.step.{flow['step_id']}"
    values = clicked.placeholders | (flow.get("description_placeholders") or {})
    shown = "\n\n".join(
        [texts[f"{step}.title"], texts[f"{step}.description"]]
        + [texts[f"{step}.menu_options.{o}"] for o in flow["menu_options"]]
    )
    for name, value in values.items():
        shown = shown.replace(f"{{{name}}}", value)
    return flow, shown


async def choose(hass: HomeAssistant, flow: Any, choice: str) -> Any:
    manager = await repairs_manager(hass)
    result = await manager.async_configure(flow["flow_id"], {"next_step_id": choice})
    await hass.async_block_till_done()
    return result


async def test_a_new_key_that_asks_for_more_shows_both_and_grants_only_what_it_showed(
    hass: HomeAssistant, entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """The attack: another key on an approved id, as a service with voice capabilities.

    The card said only "offers a different key"; approving made the stranger a
    service hearing every voice request.
    """
    await approved(entry, hass)
    capabilities = [*SENSOR["capabilities"], *VOICE]
    await register(hass, ATTACKER, device_type="service", capabilities=capabilities)

    assert listed(hass).translation_key == "key_changed_more"
    flow, text = await dialog(hass, listed(hass))

    assert flow["step_id"] == "key_changed_more"
    assert f"`{OWNER.fingerprint}`" in text
    assert f"`{ATTACKER.fingerprint}`" in text
    assert "hear every device's voice requests" in text  # the service, in words
    assert all(name in text for name in VOICE)
    assert "Compare the offered fingerprint with the one the device shows" in text
    assert text == snapshot
    result = await choose(hass, flow, "approve")
    assert result["reason"] == "device_approved"
    device = entry.runtime_data.roster.devices[DEVICE]
    assert (device.public_key, device.record.device_type) == (
        ATTACKER.public_key,
        "service",
    )


async def test_a_new_key_alone_asks_to_compare_its_fingerprint(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await approved(entry, hass)
    await register(hass, ATTACKER)

    assert listed(hass).translation_key == "key_changed"
    flow, text = await dialog(hass, listed(hass))

    assert flow["step_id"] == "key_changed"
    assert "Compare the offered fingerprint with the one the device shows" in text
    assert "Asks for" not in text  # nothing more to show


async def test_an_older_listed_issue_never_frames_another_request(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The attack: the user clicks "asks for more" (same key); a new key takes its place meanwhile.

    The frontend showed "Its key (…) is the approved one" over the attacker's key.
    """
    await approved(entry, hass)
    more = [*SENSOR["capabilities"], "switch"]
    await register(hass, OWNER, capabilities=more)  # the owner's own update
    clicked = listed(hass)
    assert clicked.translation_key == "more_asked"

    await register(hass, ATTACKER, capabilities=more)  # just before the click
    flow, text = await dialog(hass, clicked)

    assert "is the approved one" not in text
    assert f"Offered key: `{ATTACKER.fingerprint}`" in text
    assert "offers a different key" in text
    result = await choose(hass, flow, "approve")
    assert result["reason"] == "device_approved"  # the decision on what was shown


def test_every_request_kind_reads_the_same_under_every_listed_issue() -> None:
    """Whatever kind of request the user's list holds, each dialog step has its own text."""
    issues = json.loads(STRINGS.read_text(encoding="utf-8"))["issues"]
    flows = [issues[kind]["fix_flow"] for kind in KINDS]

    assert all(flow == flows[0] for flow in flows)
    assert set(flows[0]["step"]) == set(KINDS)


async def test_a_request_gone_before_the_click_shows_no_dialog(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Without a request there are no placeholders of its own: the listed issue's would fill the text."""
    await approved(entry, hass)
    await register(hass, ATTACKER)
    entry.runtime_data.approvals.pending.pop(DEVICE)  # decided, its issue not yet gone
    manager = await repairs_manager(hass)

    result = await manager.async_init(DOMAIN, data={"issue_id": f"pending_{DEVICE}"})

    assert (result["type"], result["reason"]) == ("abort", "device_gone")


async def test_titles_show_the_name_as_it_is(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Titles are plain text: a Markdown escape showed as `Bob\\'s lamp \\(v2\\)`."""
    await approved(entry, hass, name="Bob's lamp (v2)")
    await register(hass, ATTACKER, name="Bob's lamp (v2)")
    texts = await async_get_translations(hass, "en", "issues", [DOMAIN])
    issue = listed(hass)
    flow, text = await dialog(hass, issue)

    heading = texts[f"component.{DOMAIN}.issues.key_changed.title"]
    assert heading.format(**issue.placeholders) == "Key changed: Bob's lamp (v2)"
    assert text.startswith("Trust the new key of Bob's lamp (v2)?")
    result = await choose(hass, flow, "reject")
    assert result["description_placeholders"]["name"] == literal("Bob's lamp (v2)")


@pytest.mark.parametrize("step", KINDS)
async def test_a_dialog_reopened_by_its_step_shows_the_request_as_it_is_now(
    hass: HomeAssistant, entry: MockConfigEntry, step: str
) -> None:
    """The frontend reopens a dialog by its step id: the flow shows the request's own kind."""
    await approved(entry, hass)
    await register(hass, ATTACKER)
    flow = ApproveDeviceFlow(entry.entry_id, DEVICE, None)
    flow.hass = hass
    shown = await getattr(flow, f"async_step_{step}")()
    assert shown["step_id"] == "key_changed"
    assert flow.fingerprint == ATTACKER.fingerprint


async def test_a_new_devices_request_is_no_repair(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """A device waiting for its first approval has its own card (the config flow), no repair."""
    await register(hass, ATTACKER)  # nobody approved it yet: it waits
    assert DEVICE in entry.runtime_data.approvals.pending
    flow = ApproveDeviceFlow(entry.entry_id, DEVICE, None)
    flow.hass = hass
    result = await flow.async_step_init()
    assert (result["type"], result["reason"]) == ("abort", "device_gone")


async def test_a_decision_without_alicia_decides_nothing(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Alicia's entry gone (deleted) while the dialog was open: approving grants nothing."""
    await approved(entry, hass)
    await register(hass, ATTACKER)
    flow = ApproveDeviceFlow("01JGONE0000000000000000000", DEVICE, ATTACKER.fingerprint)
    flow.hass = hass
    result = await flow.async_step_approve()
    assert (result["type"], result["reason"]) == ("abort", "device_gone")
    approved_key = entry.runtime_data.roster.devices[DEVICE].public_key
    assert approved_key == OWNER.public_key
