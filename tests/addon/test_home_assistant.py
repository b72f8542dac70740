"""HA's wyoming integration, given the add-on's discovery payload through its hassio flow."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_HASSIO
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.setup import async_setup_component
import pytest

from tests.conftest import ServerProcess

pytestmark = pytest.mark.slow


async def test_hassio_discovery_creates_stt_tts_wake_word_and_agent(
    hass: HomeAssistant, socket_enabled: None, grok_server: ServerProcess
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    # What wyoming_services.addon posts, as the Supervisor hands it to HA.
    info = HassioServiceInfo(
        config={"uri": grok_server.uri},
        name="Alicia",
        slug="alicia",
        uuid="6b7c3f1e0c9a4e53a1d2f3b4c5d6e7f8",
    )
    result = await hass.config_entries.flow.async_init(
        "wyoming", context={"source": SOURCE_HASSIO}, data=info
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Alicia"
    await hass.async_block_till_done()

    entry = result["result"]
    domains = sorted(
        e.domain
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    )
    assert domains == ["conversation", "stt", "tts", "wake_word"]
    assert await hass.config_entries.async_unload(entry.entry_id)
