"""Alicia's conversation agent over Wyoming: HA's agent asks, the add-on's Grok answers.

One turn on one connection: `alicia-agent-ask` (the user's words, HA's system
prompt and HA's tools) → `alicia-agent-delta`s as the answer streams, and for each
round of tool calls an `alicia-agent-calls` that HA runs and answers with
`alicia-agent-results` → `alicia-agent-done`, or `alicia-agent-failed` with a code
and one sentence to speak. The tools run in Home Assistant, with the authority of
the user and satellite that asked (HA's own Assist API); the add-on only relays
what the model asked for. Both ends build and read the events here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
from typing import Any, Final, Literal, cast, get_args

from .errors import ProtocolError

AGENT_VERSION: Final = 1
# In the server's describe answer: the agent version it speaks.
INFO_FIELD: Final = "alicia_agent"
ASK: Final = "alicia-agent-ask"
DELTA: Final = "alicia-agent-delta"
CALLS: Final = "alicia-agent-calls"
RESULTS: Final = "alicia-agent-results"
DONE: Final = "alicia-agent-done"
FAILED: Final = "alicia-agent-failed"

MAX_TEXT: Final = 8_000
# HA's prompt carries the exposed entities (its static context): room for a big home.
MAX_SYSTEM: Final = 200_000
MAX_TOOLS: Final = 64
MAX_TOOL_NAME: Final = 64
MAX_DESCRIPTION: Final = 2_000
MAX_SCHEMA: Final = 16_000
MAX_CALLS: Final = 8
MAX_ARGUMENTS: Final = 16_000
MAX_RESULT: Final = 32_000
MAX_ID: Final = 128

type FailureCode = Literal[
    "no_api_key", "key_refused", "model_missing", "busy", "timeout", "unreachable",
    "cut_off", "failed", "not_allowed", "bad_request",
]  # fmt: skip
FAILURE_CODES: Final = frozenset(get_args(FailureCode.__value__))


def _invalid(message: str) -> ProtocolError:
    return ProtocolError("invalid_field", message)


def _text(data: Mapping[str, Any], name: str, limit: int, *, empty: bool = True) -> str:
    value = data.get(name)
    if not isinstance(value, str) or len(value) > limit or (not empty and not value):
        raise _invalid(f"{name} must be text of at most {limit} characters")
    return value


def _optional(data: Mapping[str, Any], name: str, limit: int) -> str | None:
    return None if data.get(name) is None else _text(data, name, limit, empty=False)


def _list(data: Mapping[str, Any], name: str, limit: int) -> list[Mapping[str, Any]]:
    value = data.get(name)
    if not isinstance(value, list) or len(value) > limit:
        raise _invalid(f"{name} must be a list of at most {limit} objects")
    if not all(isinstance(item, Mapping) for item in value):
        raise _invalid(f"{name} must hold objects only")
    return value


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function HA offers the model: its name, what it does, its JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ToolSpec:
        """A tool as sent; the schema's size checked before it is kept."""
        parameters = data.get("parameters")
        if not isinstance(parameters, dict):
            raise _invalid("a tool's parameters must be a JSON schema object")
        if len(json.dumps(parameters)) > MAX_SCHEMA:
            raise _invalid(f"a tool's schema must be at most {MAX_SCHEMA} characters")
        return cls(
            _text(data, "name", MAX_TOOL_NAME, empty=False),
            _text(data, "description", MAX_DESCRIPTION),
            parameters,
        )


@dataclass(frozen=True, slots=True)
class Ask:
    """A turn of a conversation: the words, HA's prompt and tools, the conversation."""

    text: str
    language: str | None
    conversation_id: str | None
    system: str
    tools: tuple[ToolSpec, ...]

    def data(self) -> dict[str, Any]:
        """The event's data."""
        return {
            "text": self.text,
            "language": self.language,
            "conversation_id": self.conversation_id,
            "system": self.system,
            "tools": [
                {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                }
                for t in self.tools
            ],
        }

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Ask:
        """The ask as sent (ProtocolError naming the field)."""
        tools = tuple(ToolSpec.parse(t) for t in _list(data, "tools", MAX_TOOLS))
        if len({t.name for t in tools}) != len(tools):
            raise _invalid("tools must have different names")
        return cls(
            _text(data, "text", MAX_TEXT, empty=False),
            _optional(data, "language", 35),
            _optional(data, "conversation_id", MAX_ID),
            _text(data, "system", MAX_SYSTEM),
            tools,
        )


@dataclass(frozen=True, slots=True)
class Call:
    """A call the model asked for; arguments are the JSON text it wrote."""

    call_id: str
    name: str
    arguments: str

    def arguments_object(self) -> dict[str, Any]:
        """The arguments as an object ({} when the model wrote none or no object)."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Calls:
    """One round's calls: HA runs them and answers with Results."""

    calls: tuple[Call, ...]

    def data(self) -> dict[str, Any]:
        """The event's data."""
        return {
            "calls": [
                {"call_id": c.call_id, "name": c.name, "arguments": c.arguments}
                for c in self.calls
            ]
        }

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Calls:
        """The calls as sent."""
        return cls(
            tuple(
                Call(
                    _text(c, "call_id", MAX_ID, empty=False),
                    _text(c, "name", MAX_TOOL_NAME, empty=False),
                    _text(c, "arguments", MAX_ARGUMENTS),
                )
                for c in _list(data, "calls", MAX_CALLS)
            )
        )


@dataclass(frozen=True, slots=True)
class Results:
    """What HA's tools answered, by call id (text for the model)."""

    outputs: dict[str, str]

    def data(self) -> dict[str, Any]:
        """The event's data."""
        return {
            "results": [{"call_id": k, "output": v} for k, v in self.outputs.items()]
        }

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Results:
        """The results as sent; each output cut to MAX_RESULT (with a note the model reads)."""
        outputs: dict[str, str] = {}
        for item in _list(data, "results", MAX_CALLS):
            output = item.get("output")
            if not isinstance(output, str):
                raise _invalid("a result's output must be text")
            if len(output) > MAX_RESULT:
                output = output[:MAX_RESULT] + " ... (cut off: ask for less)"
            outputs[_text(item, "call_id", MAX_ID, empty=False)] = output
        return cls(outputs)


@dataclass(frozen=True, slots=True)
class Failed:
    """No answer (or only part of one): why, and the one sentence to speak."""

    code: FailureCode
    spoken: str
    partial: str = ""

    def data(self) -> dict[str, Any]:
        """The event's data."""
        return {"code": self.code, "spoken": self.spoken, "partial": self.partial}

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Failed:
        """The failure as sent; an unknown code reads as `failed`."""
        code = data.get("code")
        return cls(
            cast(FailureCode, code) if code in FAILURE_CODES else "failed",
            _text(data, "spoken", 1_000),
            _text(data, "partial", 64_000) if "partial" in data else "",
        )


def text_of(data: Mapping[str, Any], limit: int = 64_000) -> str:
    """The text field of a delta or done event."""
    return _text(data, "text", limit)
