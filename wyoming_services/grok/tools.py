"""Function tools the model may call: what a toolbox offers, and running one call safely."""

from __future__ import annotations

from dataclasses import dataclass
import logging
from typing import Any, Protocol, runtime_checkable

from .bounded import loads

_LOGGER = logging.getLogger(__name__)
# What one tool's result may put in front of the model (it is billed and re-read).
MAX_RESULT_CHARS = 6000
# Calls in one round (more are ignored), and the longest call a model may write.
MAX_CALLS_PER_ROUND = 8
MAX_CALL_CHARS = 64 << 10


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """One function the model may call: its name, what it does, its JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asked for; arguments are the JSON text it wrote."""

    call_id: str
    name: str
    arguments: str


class Toolbox(Protocol):
    """Tools offered to the model, and what the model is told about them."""

    @property
    def definitions(self) -> list[ToolDefinition]:
        """The functions offered now (none: no tools are sent)."""

    @property
    def instructions(self) -> str:
        """Lines added to the system prompt while tools are offered."""

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """The result, as text for the model; ToolError for a refusal or a bad call."""


@runtime_checkable
class Relay(Protocol):
    """Tools that run elsewhere (in Home Assistant): a round's calls go out together."""

    async def relay(self, calls: list[ToolCall]) -> list[str]:
        """One result per call, in order (text for the model)."""


class ToolError(Exception):
    """A tool call that failed or was refused; the text goes back to the model."""


class HaTools:
    """Home Assistant's tools: offered to the model, a round's calls relayed to HA together."""

    def __init__(self, definitions: list[ToolDefinition]) -> None:
        """The tools HA offered."""
        self._definitions = definitions

    @property
    def definitions(self) -> list[ToolDefinition]:
        """HA's tools, as the model is offered them."""
        return self._definitions

    @property
    def instructions(self) -> str:
        """HA's prompt says what its tools are for."""
        return ""

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Not used: a round's calls are relayed together."""
        raise ToolError(f"{name} runs in Home Assistant")


async def run_tool(toolbox: Toolbox, call: ToolCall) -> str:
    """The call's result, or why it failed: the model always gets an answer to tell."""
    known = {d.name for d in toolbox.definitions}
    try:
        if call.name not in known:
            raise ToolError(f"there is no tool named {call.name[:64]!r}")
        try:
            arguments = loads(call.arguments or "{}")
        except ValueError as err:
            raise ToolError(f"the arguments are not JSON: {err}") from err
        if not isinstance(arguments, dict):
            raise ToolError("the arguments must be a JSON object")
        result = await toolbox.call(call.name, arguments)
    except ToolError as err:
        result = f"error: {err}"
    except Exception:
        # A tool's own bug must not stop the answer.
        _LOGGER.exception("Tool %s failed", call.name)
        result = "error: the tool failed"
    _LOGGER.debug("Tool %s(%s) -> %s", call.name, call.arguments[:200], result[:200])
    if len(result) > MAX_RESULT_CHARS:
        result = result[:MAX_RESULT_CHARS] + " ... (cut off: ask for less)"
    return result


async def run_calls(toolbox: Toolbox, calls: list[ToolCall]) -> list[str]:
    """A round's results: relayed together, or each of ours run in turn."""
    if isinstance(toolbox, Relay):
        return await toolbox.relay(calls)
    return [await run_tool(toolbox, call) for call in calls]
