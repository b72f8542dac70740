"""Config flow for Alicia: one hub entry, only once MQTT is set up; devices asking to join; options."""

from __future__ import annotations

from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import voluptuous as vol

from .approval import Approvals
from .approval_card import DeviceRequest
from .const import (
    APPROVAL_AUTO,
    APPROVAL_MANUAL,
    CONF_ALLOWED_ACTIONS,
    CONF_ANNOUNCE_TTS,
    CONF_ANNOUNCE_VOLUME,
    CONF_APPROVAL,
    CONF_HEARTBEAT_FACTOR,
    CONF_STALE_DAYS,
    CONF_TOPIC_PREFIX,
    DEFAULT_HEARTBEAT_FACTOR,
    DEFAULT_STALE_DAYS,
    DEFAULT_TOPIC_PREFIX,
    DOMAIN,
)
from .ha_commands import DANGEROUS_DOMAINS, DEFAULT_ALLOWED
from .markdown import literal, title

PREFIX = vol.All(str, vol.Match(r"^[A-Za-z0-9_-]+$"))
# Options without a default, which the user can empty again.
CLEARABLE = (CONF_ANNOUNCE_VOLUME, CONF_ANNOUNCE_TTS)


def action_problem(hass: HomeAssistant, action: str) -> str | None:
    """Why an allowed action cannot be allowed (an error key), or None."""
    if action in DEFAULT_ALLOWED:
        # Safe, and kept even where its domain is not set up (yet): no fans, no fan.turn_on.
        return None
    domain, dot, service = action.partition(".")
    if (
        not dot
        or not domain
        or not service
        or not hass.services.has_service(domain, service)
    ):
        return "unknown_action"
    if domain in DANGEROUS_DOMAINS:
        return "dangerous_action"
    return None


class AliciaConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create the single Alicia hub entry; show each device asking to join as discovered."""

    VERSION = 1
    # 2: the announcement volume from 0-100 to 0-1, the announce action's scale.
    MINOR_VERSION = 2
    _request: DeviceRequest

    async def _mqtt_problem(self) -> str | None:
        if not self.hass.config_entries.async_entries(mqtt.DOMAIN):
            return "mqtt_not_configured"
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return "mqtt_not_connected"
        return None

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm setup; MQTT must be configured and connected first."""
        # One hub: the devices' own flows (and those the user ignored) are no hub.
        if self._async_current_entries(include_ignore=False):
            return self.async_abort(reason="single_instance_allowed")
        if (problem := await self._mqtt_problem()) is not None:
            return self.async_abort(reason=problem)
        if user_input is None:
            return self.async_show_form(step_id="user")
        # The hub's own id: HA closes the "Alicia found on MQTT" card when set up by hand.
        await self.async_set_unique_id(DOMAIN, raise_on_progress=False)
        return self.async_create_entry(
            title="Alicia", data={}, options={CONF_TOPIC_PREFIX: DEFAULT_TOPIC_PREFIX}
        )

    async def async_step_mqtt(
        self, discovery_info: MqttServiceInfo
    ) -> ConfigFlowResult:
        """The first alicia message on the broker offers to set Alicia up."""
        if self._async_current_entries(include_ignore=False):
            return self.async_abort(reason="single_instance_allowed")
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        if not discovery_info.topic.startswith(f"{DEFAULT_TOPIC_PREFIX}/"):
            return self.async_abort(reason="invalid_discovery_info")
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the user before setting up from discovery."""
        if user_input is None:
            return self.async_show_form(step_id="confirm")
        return await self.async_step_user({})

    async def async_step_integration_discovery(
        self, discovery_info: Any
    ) -> ConfigFlowResult:
        """A device asks to join (approval.Approvals.offer): its card, as a discovered device."""
        if not isinstance(discovery_info, DeviceRequest):
            return self.async_abort(reason="invalid_discovery_info")
        await self.async_set_unique_id(discovery_info.unique_id)
        # Ignored: HA keeps an ignored entry under the device's id until the user stops it.
        self._abort_if_unique_id_configured()
        self._request = discovery_info
        approvals, problem = self._approvals()
        if approvals is None:
            return self.async_abort(reason=problem)
        record = approvals.pending[discovery_info.device_id]
        self.context["title_placeholders"] = {"name": title(record.name)}
        return await self.async_step_device()

    def _approvals(self) -> tuple[Approvals | None, str]:
        """The hub's approvals if the request waits, unchanged; else why not."""
        request = self._request
        entry = self.hass.config_entries.async_get_entry(request.entry_id)
        hub = getattr(entry, "runtime_data", None) if entry is not None else None
        if hub is None or entry is None or entry.domain != DOMAIN:
            return None, "device_gone"
        approvals: Approvals = hub.approvals
        if problem := approvals.decision_problem(
            request.device_id, request.fingerprint, request.shown
        ):
            return None, problem
        return approvals, ""

    async def async_step_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The card: who asks, what it is, its key; approve or reject."""
        approvals, problem = self._approvals()
        if approvals is None:
            return self.async_abort(reason=problem)
        record = approvals.pending[self._request.device_id]
        return self.async_show_menu(
            step_id="device" if record.fingerprint else "unsigned_device",
            menu_options=["approve_device", "reject_device"],
            description_placeholders=approvals.card(record),
        )

    async def async_step_unsigned_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The card of a device that does not sign (the frontend reopens a step by its id)."""
        return await self.async_step_device()

    async def async_step_approve_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Trust the device: its entities."""
        return self._decide(approve=True)

    async def async_step_reject_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Refuse it: it is forgotten, and may ask again."""
        return self._decide(approve=False)

    def _decide(self, approve: bool) -> ConfigFlowResult:
        """The user's choice, on exactly the request the card showed."""
        approvals, problem = self._approvals()
        if approvals is None:
            return self.async_abort(reason=problem)
        request = self._request
        name = literal(approvals.pending[request.device_id].name)
        # Checked just now: nothing can have arrived between the check and the decision.
        if approve:
            approvals.approve(request.device_id, shown=request.shown)
            return self.async_abort(
                reason="device_approved", description_placeholders={"name": name}
            )
        approvals.reject(request.device_id, shown=request.shown)
        return self.async_abort(
            reason="device_refused", description_placeholders={"name": name}
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the topic prefix."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            # The entry's update listener reloads it, once.
            return self.async_update_and_abort(
                entry,
                options={
                    **entry.options,
                    CONF_TOPIC_PREFIX: user_input[CONF_TOPIC_PREFIX],
                },
            )
        current = entry.options.get(CONF_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=vol.Schema(
                {vol.Required(CONF_TOPIC_PREFIX, default=current): PREFIX}
            ),
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry[Any]) -> AliciaOptionsFlow:
        """Options: approval, heartbeat timeout, stale days."""
        return AliciaOptionsFlow()


class AliciaOptionsFlow(OptionsFlow):
    """How devices are trusted and watched."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form."""
        errors: dict[str, str] = {}
        placeholders = {"action": ""}
        if user_input is not None:
            for action in user_input.get(CONF_ALLOWED_ACTIONS, []):
                if problem := action_problem(self.hass, action):
                    errors[CONF_ALLOWED_ACTIONS] = problem
                    placeholders["action"] = action
                    break
            else:
                # A field the user emptied is absent from user_input: it is cleared.
                kept = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key not in CLEARABLE
                }
                return self.async_create_entry(data=kept | user_input)
        options = {**self.config_entry.options, **(user_input or {})}
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_APPROVAL, default=options.get(CONF_APPROVAL, APPROVAL_MANUAL)
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[APPROVAL_MANUAL, APPROVAL_AUTO],
                        translation_key=CONF_APPROVAL,
                    )
                ),
                vol.Required(
                    CONF_HEARTBEAT_FACTOR,
                    default=options.get(
                        CONF_HEARTBEAT_FACTOR, DEFAULT_HEARTBEAT_FACTOR
                    ),
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(min=1.5, max=10, step=0.5)
                ),
                vol.Required(
                    CONF_STALE_DAYS,
                    default=options.get(CONF_STALE_DAYS, DEFAULT_STALE_DAYS),
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(min=1, max=365, step=1)
                ),
                vol.Required(
                    CONF_ALLOWED_ACTIONS,
                    default=list(options.get(CONF_ALLOWED_ACTIONS, DEFAULT_ALLOWED)),
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(DEFAULT_ALLOWED), multiple=True, custom_value=True
                    )
                ),
                vol.Optional(
                    CONF_ANNOUNCE_VOLUME,
                    description={"suggested_value": options.get(CONF_ANNOUNCE_VOLUME)},
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(min=0, max=1, step=0.05)
                ),
                vol.Optional(
                    CONF_ANNOUNCE_TTS,
                    description={"suggested_value": options.get(CONF_ANNOUNCE_TTS)},
                ): selector.EntitySelector(selector.EntitySelectorConfig(domain="tts")),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )
