"""Attacks with values no store can write, anywhere in a registration: refused, and every save still writes the approved devices."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.payloads import Registration
from custom_components.alicia.bus.signing import KeyPair
from tests.integration.helpers import (
    HUB_KEY,
    LIGHT,
    SENSOR,
    STORE,
    register,
    setup_alicia,
)

from .devices import ATTACKER, VICTIM, published, register_signed

STRANGER: dict[str, Any] = {**LIGHT, "device_id": "porch_light", "name": "Porch"}
HUGE = 10**30  # HA's writer takes 64-bit integers only: TypeError on every save

BAD = pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"metadata": {"batch": HUGE}}, '["metadata"]["batch"]'),
        ({"metadata": {"serial": "1", "log": [1, -HUGE]}}, '["metadata"]["log"][1]'),
        ({"constraints": {"max_power": HUGE}}, '["constraints"]["max_power"]'),
        ({"constraints": {"min": float("nan")}}, '["constraints"]["min"]'),
        ({"firmware": {"build": float("inf")}}, '["firmware"]["build"]'),
        ({"firmware": 2**64}, '["firmware"]'),
        ({"capabilities": [{"name": "light", "unit": HUGE}]}, '["capabilities"][0]["unit"]'),
    ],
    ids=["metadata", "metadata_list", "constraints", "nan", "infinity_extra", "extra_key", "capability_key"],
)  # fmt: skip


def stored(hass_storage: dict[str, Any]) -> dict[str, Any]:
    """What the store last wrote."""
    data: dict[str, Any] = hass_storage[STORE]["data"]
    return data


def ids(documents: list[dict[str, Any]]) -> set[str]:
    return {document["device_id"] for document in documents}


async def saved(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The hub saves, as it does after a change and when the entry unloads."""
    entry.runtime_data.save()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=5))
    await hass.async_block_till_done()
    await entry.runtime_data.async_stop()


def refusal(mqtt_mock: MqttMockHAClient) -> dict[str, Any]:
    error: dict[str, Any] = published(mqtt_mock, "alicia/system/errors")[-1]["payload"][
        "error"
    ]
    return error


@BAD
@pytest.mark.parametrize("entry_options", [{}])  # the user approves each device
async def test_a_stranger_with_an_unstorable_value_is_refused_and_saves_go_on(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
    where: str,
) -> None:
    """The attack: a stranger, who needs no approval to be pending, registers once."""
    hub = entry.runtime_data
    await register(hass, STRANGER | changes)
    assert "porch_light" not in hub.approvals.pending
    assert hub.tally.counters.rejected["invalid_field"] == 1
    error = refusal(mqtt_mock)
    assert error["code"] == "invalid_field"
    assert error["message"].startswith("payload" + where)

    hub.approvals.set_permit(True)  # the user then lets a device of theirs in
    await register(hass, SENSOR)
    assert VICTIM in hub.roster.devices
    await saved(hass, entry)
    assert ids(stored(hass_storage)["devices"]) == {VICTIM}
    assert stored(hass_storage)["pending"] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@BAD
async def test_no_device_is_approved_or_changed_with_an_unstorable_value(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    hass_storage: dict[str, Any],
    changes: dict[str, Any],
    where: str,
) -> None:
    """The attack, where devices are approved as they register: a new one, and an approved one again."""
    hub = entry.runtime_data
    before = hub.roster.devices[ATTACKER].record.document
    await register(hass, STRANGER | changes)
    if "nan" not in repr(changes) and "inf" not in repr(changes):
        # Signed (a signature covers no NaN): by a new device, and by an approved one.
        await register_signed(hass, STRANGER | changes, KeyPair.generate())
        await register_signed(hass, LIGHT | changes, keys[ATTACKER])
    assert refusal(mqtt_mock)["message"].startswith("payload" + where)
    assert set(hub.roster.devices) == {VICTIM, ATTACKER}
    assert "porch_light" not in hub.approvals.pending
    assert hub.roster.devices[ATTACKER].record.document == before
    await saved(hass, entry)
    assert ids(stored(hass_storage)["devices"]) == {VICTIM, ATTACKER}


def stored_document(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A registration as stored by a version that kept any value: changes bypass the check."""
    return Registration.parse(document).document | changes


async def test_a_store_from_before_the_check_saves_again(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Kept by an older version: a stranger's pending device goes, the user's stays without the value."""
    approved = stored_document(LIGHT, metadata={**LIGHT["metadata"], "batch": HUGE})
    pending = stored_document(STRANGER, constraints={"max": -HUGE})
    hass_storage[STORE] = {
        "version": 1, "minor_version": 1, "key": STORE,
        "data": {
            "hub_key": HUB_KEY.pem.decode(),
            "devices": [approved],
            "pending": [pending],
            "granted": {ATTACKER: approved},
            "tombstones": [stored_document(SENSOR, firmware=[float("nan")])],
        },
    }  # fmt: skip
    entry = await setup_alicia(hass, {})
    hub = entry.runtime_data
    assert "porch_light" not in hub.approvals.pending
    assert hub.roster.devices[ATTACKER].record.metadata == LIGHT["metadata"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "not plain JSON" in w and ATTACKER in w] == [
        f'Stored device {ATTACKER}: 1 value(s) not plain JSON within bounds dropped (document["metadata"]["batch"])'
    ] * 2  # its record and its grant

    await register(hass, SENSOR)  # a device registers: the store saves
    await saved(hass, entry)
    assert ids(stored(hass_storage)["devices"]) == {ATTACKER}
    assert ids(stored(hass_storage)["pending"]) == {VICTIM}
    assert "batch" not in str(stored(hass_storage))
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
