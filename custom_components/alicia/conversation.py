"""Alicia's conversation agent: the app's Grok, streamed into HA's chat log, acting through HA's Assist API."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import fields
import importlib
from typing import Any, Literal

from homeassistant.components import conversation
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent, issue_registry as ir, llm
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.json import json_dumps

from .agent_link import AgentLink, AgentUnavailable, Turn, failure_of
from .bus import agent
from .const import DOMAIN
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
AgentDelta = conversation.AssistantContentDeltaDict


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliciaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The one agent of the hub."""
    async_add_entities([AliciaAgent(entry, AgentLink(hass))])


def tool_spec(tool: llm.Tool, serializer: Any) -> agent.ToolSpec:
    """An HA tool as the model is offered it (HA's own schema converter, by release)."""
    try:  # HA 2026.3 and later
        parameters = importlib.import_module("probatio").to_openapi(
            tool.parameters, custom_serializer=serializer
        )
    except ImportError:  # HA 2026.2
        parameters = importlib.import_module("voluptuous_openapi").convert(
            tool.parameters, custom_serializer=serializer
        )
    return agent.ToolSpec(tool.name, tool.description or "", dict(parameters))


def _system_prompt(chat_log: conversation.ChatLog) -> str:
    """HA's prompt for this turn (the chat log's system content)."""
    first = chat_log.content[0]
    return first.content if isinstance(first, conversation.SystemContent) else ""


def _result_of(content: conversation.ToolResultContent) -> Any:
    """A tool's result (`result` from HA 2026.3, `tool_result` before)."""
    if "result" in {f.name for f in fields(content)}:
        return getattr(content, "result")  # noqa: B009 - not on 2026.2's class
    return content.tool_result


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
            await self._answer(user_input, chat_log)
        except AgentUnavailable as failure:
            self._raise_issue(failure.code)
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_error(
                intent.IntentResponseErrorCode.UNKNOWN, failure.spoken
            )
            return conversation.ConversationResult(
                response=response, conversation_id=chat_log.conversation_id
            )
        self._clear_issues()
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _answer(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> None:
        api = chat_log.llm_api
        tools = (
            tuple(tool_spec(t, api.custom_serializer) for t in api.tools) if api else ()
        )
        ask = agent.Ask(
            user_input.text[: agent.MAX_TEXT],
            user_input.language,
            chat_log.conversation_id[: agent.MAX_ID],
            _system_prompt(chat_log)[: agent.MAX_SYSTEM],
            tools,
        )
        async with await self.link.open(ask) as turn:
            said: list[str] = []
            while True:
                calls: list[llm.ToolInput] = []
                async for _ in chat_log.async_add_delta_content_stream(
                    self.entity_id, self._round(turn, said, calls)
                ):
                    pass
                if not calls:
                    return
                outputs = {
                    c.tool_call_id: json_dumps(_result_of(c))
                    for c in chat_log.content
                    if isinstance(c, conversation.ToolResultContent)
                    and c.tool_call_id in {call.id for call in calls}
                }
                await turn.results(outputs)

    async def _round(
        self, turn: Turn, said: list[str], calls: list[llm.ToolInput]
    ) -> AsyncGenerator[AgentDelta]:
        """One round's words and tool calls, as HA's chat log takes them."""
        yield {"role": "assistant"}
        while True:
            event = await turn.next()
            data = event.data or {}
            if event.type == agent.DELTA:
                said.append(agent.text_of(data))
                yield {"content": said[-1]}
            elif event.type == agent.CALLS:
                for call in agent.Calls.parse(data).calls:
                    calls.append(
                        llm.ToolInput(
                            tool_name=call.name,
                            tool_args=call.arguments_object(),
                            id=call.call_id,
                        )
                    )
                yield {"tool_calls": calls}
                return
            elif event.type == agent.DONE:
                # What the app added at the end (a cut-off answer's mark).
                full, streamed = agent.text_of(data).lstrip(), "".join(said).strip()
                if full.startswith(streamed) and (rest := full[len(streamed) :]):
                    yield {"content": rest}
                return
            elif event.type == agent.FAILED:
                raise failure_of(event)

    def _raise_issue(self, code: str) -> None:
        self._clear_issues(keep=code)
        if code in REPAIRED:
            ir.async_create_issue(
                self.hass, DOMAIN, f"agent_{code}",
                is_fixable=False, severity=ir.IssueSeverity.ERROR,
                translation_key=f"agent_{code}",
            )  # fmt: skip

    def _clear_issues(self, keep: str | None = None) -> None:
        for code in REPAIRED:
            if code != keep:
                ir.async_delete_issue(self.hass, DOMAIN, f"agent_{code}")
