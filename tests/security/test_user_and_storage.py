"""The user's side (HA actions) and storage: what Alicia hands out and what it keeps."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alicia.const import DOMAIN
from custom_components.alicia.storage import HubStore
from tests.integration.helpers import LIGHT, VOICE, register


async def test_the_acl_gives_no_account_but_home_assistants_the_whole_tree(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await register(hass, LIGHT)
    await register(hass, VOICE)
    result = await hass.services.async_call(
        DOMAIN, "mosquitto_acl", {}, blocking=True, return_response=True
    )
    assert result is not None
    users = str(result["acl"]).split("\nuser ")
    whole_tree = [u.split("\n")[0] for u in users if "readwrite alicia/#" in u]
    assert whole_tree == ["homeassistant"]
    service = next(u for u in users if u.startswith("alicia-voice"))
    assert (
        "topic write alicia/system/security" not in service
    )  # only the hub writes there


async def test_actions_refuse_clearly_when_alicia_is_not_loaded(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN, "mosquitto_acl", {}, blocking=True, return_response=True
        )
    assert error.value.translation_key == "not_loaded"


async def test_the_hubs_private_key_is_stored_privately_and_never_shown(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    hass_client: ClientSessionGenerator,
) -> None:
    # HA's Store writes a private store with mode 0600 (the test harness keeps
    # stores in memory, so what is checked is that the store is created private).
    with patch("custom_components.alicia.storage.Store") as store:
        HubStore(hass, entry.entry_id)
    assert store.call_args.kwargs["private"] is True
    stored = json.dumps(hass_storage[f"alicia.{entry.entry_id}"])
    assert "PRIVATE KEY" in stored
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert "PRIVATE KEY" not in json.dumps(diagnostics)
