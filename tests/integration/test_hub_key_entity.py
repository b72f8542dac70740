"""The bridge's device shows a hub-key mismatch: a problem entity beside its repair (#32, 1)."""

from __future__ import annotations

from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN

from .helpers import (
    BRIDGE,
    BRIDGE_KEY,
    HEARTBEAT,
    SENSOR,
    VOICE,
    from_bridge,
    register,
    register_bridge,
)

ISSUE = f"hub_key_mismatch_{BRIDGE}"
OTHER_HUB = KeyPair.from_seed(bytes(range(2, 34)))


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Devices approved as they register."""
    return {"approval": "auto"}


async def beat(hass: HomeAssistant, hub_key: str | None) -> None:
    """A heartbeat pinning hub_key (None: naming no key)."""
    pin = {} if hub_key is None else {"hub_key": hub_key}
    await from_bridge(
        hass,
        HEARTBEAT,
        {"service_id": BRIDGE, "status": "healthy", "interval": 10} | pin,
    )


@pytest.fixture
async def mismatch(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The app's bridge, approved with its key; its mismatch entity's id."""
    await register_bridge(hass)
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{BRIDGE}_hub_key_mismatch"
    )
    assert entity_id is not None
    return entity_id


def state(hass: HomeAssistant, entity_id: str) -> str:
    found = hass.states.get(entity_id)
    assert found is not None
    return found.state


async def test_the_entity_is_diagnostic_and_named(
    hass: HomeAssistant, mismatch: str
) -> None:
    entry = er.async_get(hass).async_get(mismatch)
    assert entry is not None
    assert entry.entity_category is EntityCategory.DIAGNOSTIC
    assert entry.original_device_class == "problem"
    assert entry.translation_key == "hub_key_mismatch"
    assert mismatch == "binary_sensor.alicia_voice_services_home_assistant_key_mismatch"


async def test_unknown_until_the_bridge_names_a_key(
    hass: HomeAssistant, mismatch: str
) -> None:
    await beat(hass, None)

    assert state(hass, mismatch) == STATE_UNKNOWN


async def test_on_with_the_repair_then_off_when_it_clears(
    hass: HomeAssistant, entry: MockConfigEntry, mismatch: str
) -> None:
    issues = ir.async_get(hass)
    await beat(hass, OTHER_HUB.fingerprint)

    assert state(hass, mismatch) == STATE_ON
    assert issues.async_get_issue(DOMAIN, ISSUE) is not None

    await beat(hass, entry.runtime_data.admission.key.fingerprint)

    assert state(hass, mismatch) == STATE_OFF
    assert issues.async_get_issue(DOMAIN, ISSUE) is None


async def test_only_a_voice_server_has_it(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, SENSOR)

    assert (
        er.async_get(hass).async_get_entity_id(
            "binary_sensor", DOMAIN, "kitchen_sensor_hub_key_mismatch"
        )
        is None
    )


async def test_the_repairs_title_shows_the_name_as_it_is(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """A plain-text title shows escapes as they are: the name goes there unescaped."""
    topic = f"alicia/system/discovery/register/{BRIDGE}"
    named = {
        **VOICE,
        "name": "Alicia's voice (v2)",
        "public_key": BRIDGE_KEY.public_key,
    }
    await from_bridge(hass, topic, named)
    await beat(hass, OTHER_HUB.fingerprint)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    placeholders = issue.translation_placeholders or {}
    assert placeholders["title_name"] == "Alicia's voice (v2)"
    assert placeholders["name"] == "Alicia\\'s voice \\(v2\\)"  # Markdown, in the text
