"""The two wire formats: xAI's Responses API, and Chat Completions for other servers.

Each turn of a conversation is a request body and a stream of server-sent events,
read into the same three events: text, a function call, the end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from alicia_bus.agent import FailureCode

from .bounded import loads
from .tools import MAX_CALL_CHARS, MAX_CALLS_PER_ROUND, ToolCall, ToolDefinition


class GrokFailure(Exception):
    """The API could not answer; `spoken` is what the user hears, `partial` what came before."""

    def __init__(
        self, spoken: str, log: str, partial: str = "", code: FailureCode = "failed"
    ) -> None:
        """Keep the user's message apart from the log's; `code` says which failure it is."""
        super().__init__(log)
        self.spoken = spoken
        self.partial = partial
        self.code: FailureCode = code


def garbled(data: str, err: Exception) -> GrokFailure:
    """An event that is not what the format says."""
    return GrokFailure(
        "Sorry, Grok's answer came back garbled.",
        f"malformed stream event {data[:80]!r}: {err}",
    )


def cut_off(why: str = "the stream ended early") -> GrokFailure:
    """An answer that stopped before its end."""
    return GrokFailure("Sorry, Grok's answer was cut off.", why, code="cut_off")


def nothing_said() -> GrokFailure:
    """An answer without a word."""
    return GrokFailure("Sorry, Grok gave no answer.", "the answer was empty")


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the spoken answer."""

    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The response is complete; its id if the server stored it."""

    response_id: str | None


Event = TextDelta | ToolCall | Finished


class Turn(Protocol):
    """One question's requests: the first, then one more after each round of tool calls."""

    path: str

    def body(self, tools: list[ToolDefinition]) -> dict[str, Any]:
        """The next request's JSON body."""

    def events(self, lines: AsyncIterator[str]) -> AsyncGenerator[Event]:
        """The response's events, ending with Finished (GrokFailure if it breaks off)."""

    def add_results(self, text: str, calls: list[ToolCall], results: list[str]) -> None:
        """What the tools answered, for the next request."""

    def forget_previous(self) -> bool:
        """Start afresh without the stored conversation (it expired); False if there was none."""


# One server-sent line (an event's data): far past any real event, still bounded.
MAX_LINE_CHARS = 1 << 20


async def sse_lines(
    chunks: AsyncIterator[str], limit: int = MAX_LINE_CHARS
) -> AsyncGenerator[str]:
    """The stream's lines, each at most limit characters (else garbled)."""
    # Split at LF only, not as str.splitlines: U+2028 or U+0085 may stand raw in a
    # JSON string.
    pending: list[str] = []
    size = 0
    async for chunk in chunks:
        for index, piece in enumerate(chunk.split("\n")):
            if index:
                yield "".join(pending).removesuffix("\r")
                pending, size = [], 0
            size += len(piece)
            if size > limit:
                raise garbled(piece[:80], ValueError(f"a line past {limit} characters"))
            if piece:
                pending.append(piece)
    if pending:
        yield "".join(pending).removesuffix("\r")


async def sse_data(lines: AsyncIterator[str]) -> AsyncGenerator[str]:
    """The data of each server-sent event (comments, names and keep-alives skipped)."""
    async for line in lines:
        if line.startswith("data:"):
            yield line[5:].strip()


def _json(data: str) -> dict[str, Any]:
    try:
        event = loads(data)
    except ValueError as err:
        raise garbled(data, err) from err
    if not isinstance(event, dict):
        raise garbled(data, TypeError("not an object"))
    return event


class ResponsesTurn:
    """xAI's Responses API: the server keeps the conversation, we send what is new."""

    path = "/responses"

    def __init__(
        self, model: str, max_tokens: int, system: str, question: str,
        previous_id: str | None,
    ) -> None:  # fmt: skip
        """The first request: the instructions and the question, after the stored turns."""
        self.model = model
        self.max_tokens = max_tokens
        self.previous_id = previous_id
        self.response_id: str | None = None
        # xAI refuses the `instructions` parameter: the system prompt is a message.
        self.input: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": question},
        ]
        self._first_input = list(self.input)

    def body(self, tools: list[ToolDefinition]) -> dict[str, Any]:
        """The next request."""
        body: dict[str, Any] = {
            "model": self.model,
            "input": self.input,
            "stream": True,
            "store": True,
            "max_output_tokens": self.max_tokens,
        }
        if self.previous_id:
            body["previous_response_id"] = self.previous_id
        if tools:
            body["tools"] = [
                {"type": "function", "name": t.name, "description": t.description,
                 "parameters": t.parameters}
                for t in tools
            ]  # fmt: skip
        return body

    async def events(self, lines: AsyncIterator[str]) -> AsyncGenerator[Event]:
        """response.output_text.delta, function calls when their item is done, response.completed."""
        async for data in sse_data(lines):
            event = _json(data)
            kind = event.get("type")
            try:
                if kind == "response.output_text.delta":
                    yield TextDelta(str(event["delta"]))
                elif kind == "response.output_item.done":
                    item = event["item"]
                    if item.get("type") == "function_call":
                        yield ToolCall(
                            str(item["call_id"]), str(item["name"]),
                            str(item.get("arguments") or ""),
                        )  # fmt: skip
                elif kind == "response.completed":
                    response_id = event["response"].get("id")
                    self.response_id = (
                        response_id if isinstance(response_id, str) else None
                    )
                    yield Finished(self.response_id)
                    return
                elif kind == "response.incomplete":
                    details = event["response"].get("incomplete_details") or {}
                    raise cut_off(f"incomplete: {details.get('reason', 'unknown')}")
                elif kind in ("response.failed", "error"):
                    error = event.get("response", {}).get("error") or event
                    raise GrokFailure(
                        "Sorry, Grok could not answer that.",
                        f"{kind}: {str(error.get('message', error))[:200]}",
                    )
            except (KeyError, TypeError, AttributeError) as err:
                raise garbled(data, err) from err
        raise cut_off("the stream ended without response.completed")

    def add_results(self, text: str, calls: list[ToolCall], results: list[str]) -> None:
        """Continue from the stored response that asked; without one, send it all again."""
        outputs = [
            {"type": "function_call_output", "call_id": c.call_id, "output": r}
            for c, r in zip(calls, results, strict=True)
        ]
        if self.response_id:
            self.previous_id = self.response_id
            self.input = outputs
            return
        asked = [
            {"type": "function_call", "call_id": c.call_id, "name": c.name,
             "arguments": c.arguments}
            for c in calls
        ]  # fmt: skip
        said = [{"role": "assistant", "content": text}] if text else []
        self.input = [*self.input, *said, *asked, *outputs]

    def forget_previous(self) -> bool:
        """Ask again from the first request, without the stored conversation."""
        if self.previous_id is None:
            return False
        self.previous_id = None
        self.input = list(self._first_input)
        return True


@dataclass(slots=True)
class _Pieces:
    """A tool call as it streams in, its pieces joined at the end."""

    id: str = ""
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    size: int = 0

    def add(self, pieces: list[str], piece: object) -> None:
        """One more piece of the name or the arguments (ValueError past the limit)."""
        if piece:
            pieces.append(str(piece))
            self.size += len(pieces[-1])
            if self.size > MAX_CALL_CHARS:
                raise ValueError(f"a tool call past {MAX_CALL_CHARS} characters")


class ChatTurn:
    """Chat Completions (Ollama, llama.cpp, vLLM ...): we send the whole conversation."""

    path = "/chat/completions"

    def __init__(
        self, model: str, max_tokens: int, system: str, question: str,
        history: list[dict[str, str]],
    ) -> None:  # fmt: skip
        """The first request: the instructions, the remembered turns, the question."""
        self.model = model
        self.max_tokens = max_tokens
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            *history,
            {"role": "user", "content": question},
        ]

    def body(self, tools: list[ToolDefinition]) -> dict[str, Any]:
        """The next request."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages,
            "stream": True,
            "max_tokens": self.max_tokens,
        }
        if tools:
            body["tools"] = [
                {"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in tools
            ]  # fmt: skip
        return body

    async def events(self, lines: AsyncIterator[str]) -> AsyncGenerator[Event]:
        """chat.completion.chunk objects until [DONE]; tool calls arrive in pieces by index."""
        finished = False
        calls: dict[int, _Pieces] = {}
        async for data in sse_data(lines):
            if data == "[DONE]":
                finished = True
                break
            chunk = _json(data)
            try:
                choice = chunk["choices"][0] if chunk.get("choices") else {}
                delta = choice.get("delta") or {}
                if text := delta.get("content") or "":
                    yield TextDelta(str(text))
                for piece in delta.get("tool_calls") or []:
                    index = int(piece.get("index", len(calls)))
                    if not 0 <= index < MAX_CALLS_PER_ROUND:
                        continue  # past the calls a round runs
                    call = calls.setdefault(index, _Pieces())
                    function = piece.get("function") or {}
                    call.id = call.id or str(piece.get("id") or "")
                    call.add(call.name, function.get("name"))
                    call.add(call.arguments, function.get("arguments"))
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as err:
                raise garbled(data, err) from err
            finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise cut_off("the stream ended without [DONE]")
        for index, call in sorted(calls.items()):
            yield ToolCall(
                call.id or f"call_{index}", "".join(call.name), "".join(call.arguments)
            )
        yield Finished(None)

    def add_results(self, text: str, calls: list[ToolCall], results: list[str]) -> None:
        """The assistant's calls, then one tool message per call."""
        self.messages.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {"id": c.call_id, "type": "function",
                     "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ],
            }
        )  # fmt: skip
        self.messages += [
            {"role": "tool", "tool_call_id": c.call_id, "content": r}
            for c, r in zip(calls, results, strict=True)
        ]

    def forget_previous(self) -> bool:
        """Nothing is stored on the server."""
        return False
