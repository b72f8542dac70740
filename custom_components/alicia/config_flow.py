"""Config flow for Alicia: one hub entry, only once MQTT is set up."""

from __future__ import annotations

from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DOMAIN


class AliciaConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the single Alicia hub entry."""

    VERSION = 1

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm setup; MQTT must be configured and connected first."""
        if not self.hass.config_entries.async_entries(mqtt.DOMAIN):
            return self.async_abort(reason="mqtt_not_configured")
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return self.async_abort(reason="mqtt_not_connected")
        if user_input is None:
            return self.async_show_form(step_id="user")
        return self.async_create_entry(title="Alicia", data={})
