"""An announcement in flight ends when its satellite goes (the entry unloads, the device is removed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia import async_remove_config_entry_device

from .helpers import alicia_device
from .satellites import BusSatellite
from .test_satellite import announced, satellite_entity


async def unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)


async def remove_device(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    device = alicia_device(hass, "hall_satellite")
    assert device is not None
    assert await async_remove_config_entry_device(hass, entry, device)


@pytest.mark.parametrize("goes", [unload, remove_device])
async def test_an_announcement_in_flight_ends_when_its_satellite_goes(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    satellite: BusSatellite,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    goes: Callable[[HomeAssistant, MockConfigEntry], Awaitable[None]],
) -> None:
    """The action returns at once, not when its wait for `played` is over; no word of a device that did not say."""
    monkeypatch.setattr(
        "custom_components.alicia.assist_satellite.ANNOUNCE_SECONDS", 10.0
    )
    call = hass.async_create_task(
        hass.services.async_call(
            "assist_satellite", "announce",
            {"entity_id": satellite_entity(hass), "message": "Dinner is ready"},
            blocking=True,
        )
    )  # fmt: skip
    await announced(satellite)
    assert not call.done()

    await goes(hass, voice_entry)

    async with asyncio.timeout(2):
        await call
    assert "did not say it played" not in caplog.text
