"""A bridge that pinned another HA key: a repair naming both fingerprints; only the bridge is heard (#32, 1)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import VOICE, message

from .devices import ATTACKER, publish, register_signed

HEARTBEAT = "alicia/system/health/heartbeat"
BRIDGE = VOICE["device_id"]
ISSUE = f"hub_key_mismatch_{BRIDGE}"
# The key an earlier Home Assistant had (another dev folder's, say).
OLD_HA = KeyPair.from_seed(bytes(range(32))).fingerprint


@pytest.fixture
async def bridge(hass: HomeAssistant, keys: dict[str, KeyPair]) -> KeyPair:
    """The app's voice bridge, approved with its key."""
    keys[BRIDGE] = KeyPair.generate()
    await register_signed(hass, VOICE, keys[BRIDGE])
    return keys[BRIDGE]


async def beat(
    hass: HomeAssistant, source: str, key: KeyPair | None, **payload: Any
) -> None:
    body = {"service_id": source, "status": "healthy", "interval": 10} | payload
    publish(hass, HEARTBEAT, message(source, body, key=key, topic=HEARTBEAT))
    await hass.async_block_till_done()


def mismatch(hass: HomeAssistant, device_id: str = BRIDGE) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"hub_key_mismatch_{device_id}")


async def test_a_stale_pin_is_a_repair_naming_both_keys_until_fixed(
    hass: HomeAssistant, entry: MockConfigEntry, bridge: KeyPair
) -> None:
    current = entry.runtime_data.admission.key.fingerprint
    await beat(hass, BRIDGE, bridge, hub_key=OLD_HA, status="degraded")
    issue = mismatch(hass)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "hub_key_mismatch"
    assert issue.translation_placeholders == {
        "name": "Alicia voice services", "title_name": "Alicia voice services",
        "pinned": OLD_HA, "current": current,
    }  # fmt: skip
    # Each heartbeat says it again: one issue, and a new pin is named anew.
    await beat(hass, BRIDGE, bridge, hub_key=OLD_HA, status="degraded")
    other = KeyPair.generate().fingerprint
    await beat(hass, BRIDGE, bridge, hub_key=other, status="degraded")
    issue = mismatch(hass)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["pinned"] == other
    # The user set hub_key_fingerprint in the app: its pin is HA's key now.
    await beat(hass, BRIDGE, bridge, hub_key=current)
    assert mismatch(hass) is None


async def test_a_bridge_that_pinned_nothing_yet_raises_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, bridge: KeyPair
) -> None:
    await beat(hass, BRIDGE, bridge)
    assert mismatch(hass) is None


@pytest.mark.parametrize(
    ("sender", "signer"),
    [
        (BRIDGE, None),  # unsigned, in the bridge's name
        (BRIDGE, "stranger"),  # signed by a key nobody approved
        (ATTACKER, ATTACKER),  # an approved light, signing as itself
    ],
)
async def test_a_mismatch_told_by_another_device_raises_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    bridge: KeyPair,
    sender: str,
    signer: str | None,
) -> None:
    key = KeyPair.generate() if signer == "stranger" else keys.get(signer or "")
    await beat(hass, sender, key, hub_key=OLD_HA)
    assert mismatch(hass) is None
    assert mismatch(hass, ATTACKER) is None


async def test_a_hub_key_that_is_no_fingerprint_is_refused(
    hass: HomeAssistant, entry: MockConfigEntry, bridge: KeyPair
) -> None:
    before = entry.runtime_data.roster.devices[BRIDGE].last_seen
    await beat(hass, BRIDGE, bridge, hub_key="SHA256:**not base64**")
    assert mismatch(hass) is None
    assert entry.runtime_data.roster.devices[BRIDGE].last_seen == before


async def test_removing_the_bridge_removes_its_repair(
    hass: HomeAssistant, entry: MockConfigEntry, bridge: KeyPair
) -> None:
    await beat(hass, BRIDGE, bridge, hub_key=OLD_HA)
    assert mismatch(hass) is not None
    entry.runtime_data.approvals.remove(BRIDGE)
    await hass.async_block_till_done()
    assert mismatch(hass) is None
