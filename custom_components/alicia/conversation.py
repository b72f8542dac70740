"""Alicia's conversation agent: the app's Grok, streamed into HA's chat log, acting through HA's Assist API."""

from __future__ import annotations

import asyncio
from typing import Literal

from homeassistant.components import conversation
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent, issue_registry as ir, llm
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .agent_chat import answer
from .agent_link import TOO_SLOW, AgentLink, AgentUnavailable
from .bus.policy import Mode
from .const import DOMAIN
from .device_data import serves_voice
from .entry_data import AliciaConfigEntry

PARALLEL_UPDATES = 0
# Failures the user fixes (in the app, or by starting it): raised as repairs, gone
# after the next answer.
REPAIRED = (
    "no_api_key",
    "key_refused",
    "model_missing",
    "busy",
    "not_allowed",
    "no_server",
)
# Longer than any answer the app gives (its limit, retries included, is 10 s by
# default): a server that never ends a turn is cut off here.
TURN_SECONDS = 90.0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The one agent of the hub."""
    roster = entry.runtime_data.roster

    def keys() -> dict[str, str] | None:
        if roster.admission.mode is Mode.OFF:
            return None  # the user trusts every device's word: nothing to prove
        # The key that speaks for each voice server: its own, or its hub's (Roster.key_of).
        return {
            device.device_id: key
            for device in roster.devices.values()
            if serves_voice(roster, device)
            and (key := roster.key_of(device.device_id)) is not None
        }

    async_add_entities([AliciaAgent(entry, AgentLink(hass, keys))])


class AliciaAgent(conversation.ConversationEntity):
    """Grok in the Alicia app, answering in HA's pipeline while it streams."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_supports_streaming = True
    _attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    def __init__(self, entry: AliciaConfigEntry, link: AgentLink) -> None:
        """On the hub's device."""
        self.entry = entry
        self.link = link
        self._attr_unique_id = f"{entry.entry_id}-agent"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry.entry_id)})

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        """The app's answer languages once its server is found; any before."""
        server = self.link.server
        return list(server.languages) if server and server.languages else MATCH_ALL

    async def async_added_to_hass(self) -> None:
        """Look for the app's server in the background (its languages)."""
        await super().async_added_to_hass()
        self.entry.async_create_background_task(
            self.hass, self.link.find(), "alicia-agent-find"
        )

    async def _async_handle_message(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Ask the app with HA's prompt and tools; its words stream into the chat log."""
        try:
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOMAIN),
                llm.LLM_API_ASSIST,
                None,
                user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            return err.as_conversation_result()
        try:
            async with asyncio.timeout(TURN_SECONDS):
                await answer(self.link, self.entity_id, user_input, chat_log)
        except TimeoutError:
            failure = TOO_SLOW.again()
        except AgentUnavailable as unavailable:
            failure = unavailable
        else:
            self._clear_issues()
            return conversation.async_get_result_from_chat_log(user_input, chat_log)
        self._raise_issue(failure.code)
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, failure.spoken)
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )

    def _raise_issue(self, code: str) -> None:
        # A passing failure (a timeout) says nothing of what the user must fix:
        # the repairs stand until an answer, or until another cause replaces them.
        if code in REPAIRED:
            self._clear_issues(keep=code)
            ir.async_create_issue(
                self.hass, DOMAIN, f"agent_{code}",
                is_fixable=False, severity=ir.IssueSeverity.ERROR,
                translation_key=f"agent_{code}",
            )  # fmt: skip

    def _clear_issues(self, keep: str | None = None) -> None:
        for code in REPAIRED:
            if code != keep:
                ir.async_delete_issue(self.hass, DOMAIN, f"agent_{code}")
