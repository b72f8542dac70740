"""Each trust list HA signs counts up past the last, after a restart and a clock once ahead too."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from tests.integration.helpers import STORE, setup_alicia, store_hub_key

from .test_integration_trust_areas import trust_lists


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def publish(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.runtime_data.roster.publish_trust()
    await hass.async_block_till_done()


def serials(mqtt_mock: MqttMockHAClient) -> list[int]:
    return [listed["serial"] for listed in trust_lists(mqtt_mock)]


async def test_lists_signed_with_the_clock_stopped_count_up(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    for _ in range(3):
        await publish(hass, entry)
    published = serials(mqtt_mock)
    assert len(published) >= 4  # the one at start too
    assert published == sorted(set(published))  # strictly increasing


async def test_lists_count_on_past_one_signed_ahead_after_a_restart(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """HA's clock 4 years ahead, then set right and HA restarted: its replay stays older."""
    right = datetime.now(UTC)
    freezer.move_to(right + timedelta(days=4 * 365))
    await publish(hass, entry)
    ahead = serials(mqtt_mock)[-1]
    assert ahead >= ms(right + timedelta(days=4 * 365))
    freezer.move_to(right + timedelta(minutes=1))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await publish(hass, entry)
    after = serials(mqtt_mock)[-2:]
    assert ahead < after[0] < after[1]


async def test_a_power_cut_just_after_a_list_signed_ahead_numbers_none_below_it(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """HA's clock 4 years ahead, a list out, the power cut before the store is saved, the
    clock right at the restart: a list numbered below the one out would be ignored by the
    bridges (a revocation too) for 4 years. Its serial is stored before it goes out."""
    right = datetime.now(UTC)
    freezer.move_to(right + timedelta(days=4 * 365))
    await publish(hass, entry)
    ahead = serials(mqtt_mock)[-1]
    on_disk = copy.deepcopy(hass_storage)  # all that was written when the power went
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage.clear()
    hass_storage.update(on_disk)
    freezer.move_to(right + timedelta(minutes=1))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert serials(mqtt_mock)[-1] > ahead


@pytest.mark.parametrize("stored", [{}, {"trust_serial": 5}, {"trust_serial": "x"}])
async def test_an_older_store_moves_on_by_the_time(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mqtt_mock: MqttMockHAClient,
    stored: dict[str, Any],
) -> None:
    """Stored before lists had serials, an older backup, or not a serial: the time numbers them."""
    store_hub_key(hass_storage)
    hass_storage[STORE]["data"].update(stored)
    started = datetime.now(UTC)
    await setup_alicia(hass)
    assert serials(mqtt_mock)[0] >= ms(started)


async def test_a_list_asked_for_as_the_entry_reloads_goes_out_before_the_new_hubs(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The old hub's list, sent after the new hub had numbered its own, could carry the same serial."""
    await hass.async_block_till_done()
    before = len(serials(mqtt_mock))
    entry.runtime_data.roster.publish_trust()  # not sent yet when the reload starts
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sent = serials(mqtt_mock)[before - 1 :]
    assert len(sent) == 3  # the one before, the old hub's, the new hub's at its start
    assert sent == sorted(set(sent))
