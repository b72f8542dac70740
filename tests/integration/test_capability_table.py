"""The platforms' tables are the capability → platform map: one row a capability, as documented."""

from __future__ import annotations

from collections import Counter
import re

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia import PLATFORMS
from custom_components.alicia.bus.speaker import PLAYBACK
from custom_components.alicia.capabilities import DESCRIPTIVE
from custom_components.alicia.const import DOMAIN
from custom_components.alicia.entity_tables import CAPABILITY_PLATFORMS, TABLES
from tests.conftest import ROOT

from .helpers import register


def documented() -> set[str]:
    """The capability names of the table under "What devices become" in docs/integration.md."""
    text = (ROOT / "docs/integration.md").read_text(encoding="utf-8")
    section = text.split("\n## What devices become\n", 1)[1]
    table = section.split("\n| capability | entity |\n", 1)[1].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines()[1:]:
        # "`audio_playback` (or the device type `speaker`)": names before the aside.
        first = row.split("|")[1].split("(")[0]
        names.update(re.findall(r"`([a-z0-9_]+)`", first))
    return names


def test_every_capability_has_one_row_on_one_platform() -> None:
    """No name in two rows, none both an entity and descriptive; every table's platform is set up."""
    rows = Counter(row.key for table in TABLES.values() for row in table)
    assert [name for name, count in rows.items() if count > 1] == []
    assert set(rows) == set(CAPABILITY_PLATFORMS)
    assert set(rows).isdisjoint(DESCRIPTIVE)
    assert set(TABLES) <= set(PLATFORMS)


def test_the_documented_table_lists_the_same_capabilities() -> None:
    """A row added to a table is a row of docs/integration.md's table, and back."""
    assert documented() == set(CAPABILITY_PLATFORMS) | DESCRIPTIVE


async def test_each_row_is_an_entity_on_its_platform(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """A device declaring every known capability: an entity per row, no capability unknown."""
    # A speaker's volume is its media player's: this device plays nothing.
    names = sorted(CAPABILITY_PLATFORMS) + sorted(DESCRIPTIVE - {PLAYBACK})
    entry.runtime_data.approvals.set_permit(True)
    await register(hass, {
        "device_id": "everything", "device_type": "actuator", "name": "Everything",
        "capabilities": names, "heartbeat_interval": 30,
    })  # fmt: skip
    assert "everything" in entry.runtime_data.roster.devices

    registry = er.async_get(hass)
    for name, platform in CAPABILITY_PLATFORMS.items():
        unique_id = f"everything_{name}"
        assert registry.async_get_entity_id(platform, DOMAIN, unique_id), name
    issues = ir.async_get(hass).issues
    assert not [i for (_, i) in issues if i.startswith("unknown_capability_")]
