"""Device-chosen text where people read it: repair cards, notifications, the logbook (#25, 7)."""

from __future__ import annotations

import re
import string
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import (
    LIGHT,
    alicia_device,
    approval_flows,
    message,
    open_card,
    register,
)
from tests.integration.test_automations import documented

from .devices import ATTACKER, publish, register_signed

TRACKER = "![](http://tracker.example/p.png)"
LINK = "[approve me](http://evil.example/approve)"  # capability names are lower case
# CommonMark: a backslash before ASCII punctuation makes it a literal character;
# any other punctuation may start a link, an image, HTML or emphasis (a comma never).
ESCAPED = re.compile(r"\\([" + re.escape(string.punctuation) + "])")
ACTIVE = re.compile("[" + re.escape(string.punctuation.replace(",", "")) + "]")


def renders_literally(shown: str, meant: str) -> bool:
    """Markdown shows `shown` as `meant`, and starts nothing (no link, image, HTML)."""
    unescaped = ESCAPED.sub(r"\1", shown)
    return unescaped == meant and ACTIVE.search(ESCAPED.sub("", shown)) is None


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The user approves each device: new ones wait as discovered devices."""
    return {}


async def test_capability_names_are_literal_in_the_approval_card(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, {**LIGHT, "capabilities": [TRACKER, LINK, "light"]})
    card = await open_card(hass, ATTACKER)
    shown = card["description_placeholders"]["capabilities"]
    assert renders_literally(shown, f"{TRACKER}, {LINK}, light")


async def test_a_devices_name_is_literal_in_its_card_and_plain_in_its_title(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The attack: a link, a tracking image and a fake "Signed" banner as the name."""
    name = f'{LINK} {TRACKER} <ha-alert alert-type="success">Signed</ha-alert>'
    await register(hass, {**LIGHT, "name": name})
    card = await open_card(hass, ATTACKER)
    assert renders_literally(card["description_placeholders"]["name"], name)
    # The discovered card's title is text, not Markdown: the name as the device gave it.
    (flow,) = approval_flows(hass, ATTACKER)
    assert flow["context"]["title_placeholders"] == {"name": name}


async def test_an_unknown_capability_is_literal_in_its_card(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, {**LIGHT, "capabilities": [LINK]})
    entry.runtime_data.approvals.approve(ATTACKER)
    await hass.async_block_till_done()
    (issue,) = [
        i
        for i in ir.async_get(hass).issues.values()
        if i.issue_id.startswith("unknown_capability_")
    ]
    assert renders_literally((issue.translation_placeholders or {})["capability"], LINK)


async def test_the_documented_welcome_does_not_render_a_devices_name(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    notify = async_mock_service(hass, "persistent_notification", "create")
    welcome = [a for a in documented() if a["alias"] == "New Alicia device waiting"]
    assert await async_setup_component(hass, "automation", {"automation": welcome})
    await register(hass, {**LIGHT, "name": TRACKER})
    (note,) = notify
    assert "](" not in note.data["message"]
    assert ATTACKER in note.data["message"]  # which device, by its id


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database before HA starts, as the logbook needs it."""


async def test_the_logbook_names_a_device_as_the_user_does_and_quotes_it(
    recorder_mock: Any,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    entry: MockConfigEntry,
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    key = KeyPair.generate()
    entry.runtime_data.approvals.set_permit(True)
    await register_signed(hass, LIGHT, key)
    device = alicia_device(hass, ATTACKER)
    assert device is not None
    dr.async_get(hass).async_update_device(device.id, name_by_user="Garage light")
    # It renames itself as the lock, then reports what the lock would.
    await register_signed(hass, {**LIGHT, "name": "Front door lock"}, key)
    topic = "alicia/integration/analytics/event"
    report = {"event": "lock", "message": "was unlocked by Alice"}
    publish(hass, topic, message(ATTACKER, report, key=key, topic=topic))
    await hass.async_block_till_done()
    await hass.async_add_executor_job(recorder_mock.block_till_done)
    client = await hass_ws_client()
    await client.send_json(
        {"id": 1, "type": "logbook/get_events", "start_time": "2000-01-01T00:00:00Z"}
    )
    answer = await client.receive_json()
    lines = [
        (e.get("name"), e.get("message"))
        for e in answer["result"]
        if e.get("domain") == DOMAIN and "unlocked" in str(e.get("message"))
    ]
    assert lines == [("Garage light", 'reports "was unlocked by Alice"')]
