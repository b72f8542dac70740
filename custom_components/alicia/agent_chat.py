"""One turn of the Alicia agent in HA's chat log: HA's prompt and tools out, the app's words and calls in, bounded."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import fields
import hashlib
import importlib
import logging
from typing import Any

from homeassistant.components import conversation
from homeassistant.helpers import llm
from homeassistant.helpers.json import json_dumps

from .agent_link import GARBLED, AgentLink, Turn, failure_of
from .bus import agent
from .bus.errors import ProtocolError

_LOGGER = logging.getLogger(__name__)
# The app runs at most 4 rounds of tools and a last one without; a server that
# goes on is not the app.
MAX_ROUNDS = 5
MAX_ANSWER = 64_000
AgentDelta = conversation.AssistantContentDeltaDict


def tool_spec(tool: llm.Tool, serializer: Any) -> agent.ToolSpec | None:
    """An HA tool as the model is offered it (HA's own schema converter, by release); None if it does not fit."""
    try:  # HA 2026.3 and later
        parameters = importlib.import_module("probatio").to_openapi(
            tool.parameters, custom_serializer=serializer
        )
    except ImportError:  # HA 2026.2
        parameters = importlib.import_module("voluptuous_openapi").convert(
            tool.parameters, custom_serializer=serializer
        )
    try:
        return agent.ToolSpec.parse(
            {"name": tool.name, "description": (tool.description or "")[: agent.MAX_DESCRIPTION],
             "parameters": dict(parameters)}
        )  # fmt: skip
    except ProtocolError as err:
        _LOGGER.debug("Tool %s not offered to Grok: %s", tool.name[:80], err)
        return None


def conversation_key(conversation_id: str, user_id: str | None = None) -> str:
    """HA's conversation id as the app keeps its memory: whole, or hashed with its user.

    A user may pick a conversation id ("kitchen"); HA keeps it once its session is
    gone (idle, or HA restarted) while the app still remembers the talk, so another
    user picking the same id would hear the first one's: the user is in the key.
    Too long, it is hashed (never cut). A hashed key starts with "~", and an id
    that does is hashed too: nobody can pick an id that is another user's key.
    """
    if (
        user_id is None
        and len(conversation_id) <= agent.MAX_ID
        and not conversation_id.startswith("~")
    ):
        return conversation_id
    owned = f"{user_id or ''}\n{conversation_id}"
    return "~" + hashlib.sha256(owned.encode()).hexdigest()


def _system_prompt(chat_log: conversation.ChatLog) -> str:
    """HA's prompt for this turn (the chat log's system content)."""
    first = chat_log.content[0]
    return first.content if isinstance(first, conversation.SystemContent) else ""


def _result_of(content: conversation.ToolResultContent) -> Any:
    """A tool's result (`result` from HA 2026.3, `tool_result` before)."""
    if "result" in {f.name for f in fields(content)}:
        return getattr(content, "result")  # noqa: B009 - not on 2026.2's class
    return content.tool_result


def ask_of(
    user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
) -> agent.Ask:
    """The turn as the app is asked: HA's tools that fit its bounds, at most 64."""
    api = chat_log.llm_api
    specs = [tool_spec(t, api.custom_serializer) for t in api.tools] if api else []
    tools = tuple(spec for spec in specs if spec is not None)[: agent.MAX_TOOLS]
    return agent.Ask(
        user_input.text[: agent.MAX_TEXT],
        user_input.language,
        conversation_key(chat_log.conversation_id, user_input.context.user_id),
        _system_prompt(chat_log)[: agent.MAX_SYSTEM],
        tools,
    )


async def answer(
    link: AgentLink,
    agent_id: str,
    user_input: conversation.ConversationInput,
    chat_log: conversation.ChatLog,
) -> None:
    """The app's answer into the chat log, HA running the tools it calls (AgentUnavailable if not)."""
    async with await link.open(ask_of(user_input, chat_log)) as turn:
        said: list[str] = []
        for _ in range(MAX_ROUNDS):
            calls: list[llm.ToolInput] = []
            async for _content in chat_log.async_add_delta_content_stream(
                agent_id, _round(turn, said, calls)
            ):
                pass
            if not calls:
                return
            asked = {call.id for call in calls}
            outputs = {
                c.tool_call_id: json_dumps(_result_of(c))
                for c in chat_log.content
                if isinstance(c, conversation.ToolResultContent)
                and c.tool_call_id in asked
            }
            await turn.results(outputs)
    raise GARBLED.again()  # more rounds than the app ever makes


async def _round(
    turn: Turn, said: list[str], calls: list[llm.ToolInput]
) -> AsyncGenerator[AgentDelta]:
    """One round's words and tool calls, as HA's chat log takes them."""
    yield {"role": "assistant"}
    while True:
        event = await turn.next()
        try:
            if event.type == agent.DELTA:
                said.append(agent.text_of(event.data, agent.MAX_TEXT))
                if sum(map(len, said)) > MAX_ANSWER:
                    raise GARBLED.again()
                yield {"content": said[-1]}
            elif event.type == agent.CALLS:
                for call in agent.Calls.parse(event.data).calls:
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
                full = agent.text_of(event.data, MAX_ANSWER).lstrip()
                streamed = "".join(said).strip()
                if full.startswith(streamed) and (rest := full[len(streamed) :]):
                    yield {"content": rest}
                return
            elif event.type == agent.FAILED:
                raise failure_of(event)
        except ProtocolError as err:
            raise GARBLED.again() from err
