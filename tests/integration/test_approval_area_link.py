"""The area and web page a device names: on its approval card, bound to it, never changed behind the user."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.helpers import area_registry as ar, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN

from .helpers import (
    SENSOR,
    alicia_device,
    approval_flows,
    approve_repair,
    message,
    open_card,
)

DEVICE = SENSOR["device_id"]
KEY = KeyPair.from_seed(bytes(range(1, 33)))
PAGE = "http://192.168.1.20/"


async def register(hass: HomeAssistant, **metadata: Any) -> None:
    """The kitchen sensor's registration, signed, with these metadata changed."""
    topic = f"alicia/system/discovery/register/{DEVICE}"
    document = SENSOR | {
        "metadata": SENSOR["metadata"] | metadata,
        "public_key": KEY.public_key,
    }
    async_fire_mqtt_message(
        hass, topic, message(DEVICE, document, key=KEY, topic=topic)
    )
    await hass.async_block_till_done()


async def approved(
    hass: HomeAssistant, entry: MockConfigEntry, **metadata: Any
) -> None:
    """The kitchen sensor, approved (the permit window) with these metadata."""
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, **metadata)
    entry.runtime_data.approvals.set_permit(False)
    assert DEVICE in entry.runtime_data.roster.devices


def area_names(hass: HomeAssistant) -> set[str]:
    return {area.name for area in ar.async_get(hass).async_list_areas()}


async def test_the_card_shows_the_area_and_the_web_page_it_sets(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, configuration_url=PAGE)

    card = await open_card(hass, DEVICE)

    shown = card["description_placeholders"]
    assert (shown["area"], shown["configuration_url"]) == ("**Kitchen**", f"`{PAGE}`")


@pytest.mark.parametrize(
    "changed",
    [{"location": "master_bedroom"}, {"configuration_url": "http://evil.example/"}],
    ids=["area", "web-page"],
)
async def test_a_place_or_page_changed_after_the_card_was_shown_decides_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, changed: dict[str, str]
) -> None:
    """The attack: the card is open; the device names another area (a new one in HA, in the trust list) or page; the user approves."""
    await register(hass, configuration_url=PAGE)
    card = await open_card(hass, DEVICE)

    await register(hass, **({"configuration_url": PAGE} | changed))

    with pytest.raises(UnknownFlow):
        await hass.config_entries.flow.async_configure(
            card["flow_id"], {"next_step_id": "approve_device"}
        )
    assert DEVICE not in entry.runtime_data.roster.devices
    assert "Master Bedroom" not in area_names(hass)
    (flow,) = approval_flows(hass, DEVICE)  # the new request, on a card of its own
    assert flow["flow_id"] != card["flow_id"]


async def test_an_approved_device_cannot_move_itself_or_make_areas(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Its location was a suggestion, taken once: where the user keeps it, it stays."""
    await approved(hass, entry)
    kitchen = ar.async_get(hass).async_get_area_by_name("Kitchen")
    assert kitchen is not None
    areas = entry.runtime_data.roster.areas()

    await register(hass, location="vault")

    device = alicia_device(hass, DEVICE)
    assert device is not None
    assert device.area_id == kitchen.id
    assert "Vault" not in area_names(hass)
    assert entry.runtime_data.roster.areas() == areas == {DEVICE: "Kitchen"}
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{DEVICE}") is None


async def test_another_web_page_waits_for_the_user(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The attack: an approved device points its device page's link elsewhere."""
    await approved(hass, entry, configuration_url=PAGE)

    await register(hass, configuration_url="http://evil.example/")

    device = alicia_device(hass, DEVICE)
    assert device is not None
    assert device.configuration_url == PAGE
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{DEVICE}")
    assert issue is not None
    assert issue.translation_key == "more_asked"
    assert issue.translation_placeholders is not None
    shown = issue.translation_placeholders
    assert (shown["old_configuration_url"], shown["configuration_url"]) == (
        f"`{PAGE}`",
        "`http://evil.example/`",
    )
    await approve_repair(hass, DEVICE)
    device = alicia_device(hass, DEVICE)
    assert device is not None
    assert device.configuration_url == "http://evil.example/"


async def test_a_page_dropped_for_a_while_comes_back_without_asking(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await approved(hass, entry, configuration_url=PAGE)

    await register(hass)  # no page: less, followed at once
    device = alicia_device(hass, DEVICE)
    assert device is not None
    assert device.configuration_url is None
    await register(hass, configuration_url=PAGE)  # the approved one again

    device = alicia_device(hass, DEVICE)
    assert device is not None
    assert device.configuration_url == PAGE
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"pending_{DEVICE}") is None
