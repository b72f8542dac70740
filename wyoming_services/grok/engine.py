"""Answers from Grok (xAI) or any OpenAI-compatible API: streamed, with memory and home tools."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
import logging
import math
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from alicia_bus.agent import FailureCode
from alicia_bus.log_limit import LimitedLog
from wyoming_services.authority import Authority
from wyoming_services.settings import Settings, shown_url

from .bounded import read_at_most
from .listing import list_models, shown
from .memory import Memory, conversation_key
from .models import ModelInfo, chat_models, choose, offers
from .prompt import NO_HOME, system_prompt, where
from .retry import error_detail, redact, retry_delay
from .tools import MAX_CALLS_PER_ROUND, Toolbox, ToolCall, ToolDefinition, run_calls
from .wire import (
    ChatTurn,
    Finished,
    GrokFailure,
    ResponsesTurn,
    TextDelta,
    Turn,
    cut_off,
    nothing_said,
    sse_lines,
)

_LOGGER = logging.getLogger(__name__)
# Lines each question can cause (a retry, a conversation xAI forgot): while the API
# fails, every question would write one; one a minute per kind instead.
_PER_QUESTION = LimitedLog(_LOGGER)

XAI_BASE_URL = "https://api.x.ai/v1"
# Rounds of tool calls in one answer: a model that loops is stopped and answers
# with what it has.
MAX_TOOL_ROUNDS = 4
# The longest answer read, in characters per token allowed (at least the minimum):
# a server that never stops is cut off, not held in memory whole.
CHARS_PER_TOKEN = 8
MIN_ANSWER_CHARS = 4000
# What is read of a refusal's body: its message is in the first few lines.
MAX_ERROR_BYTES = 64 << 10


@dataclass(slots=True)
class GrokCounters:
    """Totals since start."""

    requests: int = 0
    failures: int = 0
    retries: int = 0
    tool_calls: int = 0


class Held(Protocol):
    """An answer started before its conversation is known (grok/early.py)."""

    def timed(self, deadline: asyncio.Timeout) -> None:
        """The answer's deadline, to move when the answer is taken."""

    def keep(self, answer: str, stored: str | None) -> None:
        """The whole answer and its stored response, for the conversation that takes it."""


class Grok:
    """The chat engine behind the handle program and the bus's ai/request."""

    def __init__(self, settings: Settings) -> None:
        """Set up the HTTP client; nothing is sent until a request or refresh_models()."""
        self.settings = settings
        self.base_url = settings.grok_base_url.rstrip("/")
        self.model = settings.grok_model
        self.models: list[ModelInfo] = []
        self.counters = GrokCounters()
        self.tools: Toolbox | None = None
        self.memory = Memory(
            settings.grok_max_turns,
            settings.grok_memory_seconds,
            settings.grok_max_conversations,
        )
        headers = {"User-Agent": "alicia-wyoming-services"}
        if settings.grok_api_key:
            headers["Authorization"] = f"Bearer {settings.grok_api_key}"
        # Credentials in the URL are sent as httpx would (Basic auth), but kept out
        # of the URL it quotes in its errors and logs at INFO for every request.
        url = httpx.URL(self.base_url)
        self._http = httpx.AsyncClient(
            base_url=url.copy_with(userinfo=b""),
            auth=httpx.BasicAuth(url.username, url.password) if url.userinfo else None,
            headers=headers,
            timeout=httpx.Timeout(
                settings.grok_timeout, connect=min(5.0, settings.grok_timeout)
            ),
        )

    @property
    def shown_url(self) -> str:
        """The base URL as it may be shown or logged: its credentials left out."""
        return shown_url(self.base_url)

    @property
    def is_xai(self) -> bool:
        """The base URL is xAI's own API."""
        return urlsplit(self.base_url).hostname == urlsplit(XAI_BASE_URL).hostname

    @property
    def api(self) -> str:
        """The wire format: the configured one, or Responses for xAI only."""
        if self.settings.grok_api != "auto":
            return self.settings.grok_api
        return "responses" if self.is_xai else "chat_completions"

    @property
    def needs_key(self) -> bool:
        """XAI itself needs a key; a local OpenAI-compatible server may not."""
        return self.is_xai and not self.settings.grok_api_key

    @property
    def available_models(self) -> list[str]:
        """The ids of the listed models that can chat."""
        return [m.id for m in chat_models(self.models)]

    @property
    def languages(self) -> list[str]:
        """Languages offered in describe."""
        return list(self.settings.grok_languages) or [self.settings.grok_language]

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def refresh_models(self) -> list[str]:
        """Ask the API which models exist; choose one if none is set, say so if the set one is missing."""
        if self.needs_key:
            return []
        # xAI lists its language models apart, with what they output; other
        # servers have only /models (their 404 here is expected, not worth a warning).
        models = await self._list("/language-models", "models", quiet=True)
        models = models or await self._list("/models", "data")
        if not models:
            return []
        self.models = models
        if not self.model:
            self.model = choose(models) or ""
            _LOGGER.info(
                "No grok_model set; using %s (chat models: %s)",
                self.model or "none", shown(self.available_models),
            )  # fmt: skip
        elif not offers(models, self.model):
            _LOGGER.error(
                "Model %s is not offered by %s; chat models: %s",
                self.model, self.shown_url, shown(self.available_models),
            )  # fmt: skip
        return self.available_models

    async def _list(self, path: str, key: str, quiet: bool = False) -> list[ModelInfo]:
        try:
            return await list_models(self._http, path, key, self.settings.grok_timeout)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, TimeoutError) as err:
            _LOGGER.log(
                logging.DEBUG if quiet else logging.WARNING,
                "Could not list models at %s%s: %s",
                self.shown_url, path, self._redact(str(err)) or type(err).__name__,
            )  # fmt: skip
            return []

    def system_prompt(self, language: str, authority: Authority) -> str:
        """The personality, the context it may use, and the language to answer in."""
        home = self._home_tools()
        if home and not authority.may_act:
            # Said, so the model tells the requester instead of pretending.
            return system_prompt(self.settings, language, NO_HOME)
        instructions = self.tools.instructions if home and self.tools else ""
        if instructions and authority.area:
            instructions += "\n" + where(authority.area)
        return system_prompt(self.settings, language, instructions)

    def _home_tools(self) -> list[ToolDefinition]:
        if self.tools is None or not self.settings.grok_home_tools:
            return []
        return self.tools.definitions

    def _check_model(self) -> None:
        if self.models and self.model and not offers(self.models, self.model):
            raise GrokFailure(
                f"The Grok model {self.model} isn't available. The Alicia app's log "
                "lists the ones that are.",
                f"model {self.model} is not offered; chat models: "
                f"{shown(self.available_models)}",
                code="model_missing",
            )

    async def answer(
        self,
        text: str,
        language: str | None = None,
        conversation_id: str | None = None,
        *,
        authority: Authority,
        toolbox: Toolbox | None = None,
        context: str = "",
        held: Held | None = None,
    ) -> AsyncGenerator[str]:
        """Yield the answer as it streams in; GrokFailure (with any partial answer) on failure.

        authority: who asks; tools are offered only if they may act. toolbox: the
        requester's own tools (Home Assistant's), in place of ours; context: what
        the requester tells the model (Home Assistant's prompt). held: an answer
        started before its conversation is known (grok/early.py) is given its
        deadline, and the whole answer in place of the conversation's memory.
        """
        self.counters.requests += 1
        remembered = conversation_key(authority.holder, conversation_id)
        lang = (language or self.settings.grok_language).replace("_", "-")
        lang = lang.split("-")[0].lower()
        parts: list[str] = []
        turn: Turn | None = None
        try:
            if self.needs_key:
                raise GrokFailure(
                    "I can't answer that yet: no Grok API key is set up in the Alicia app.",
                    "no grok_api_key configured",
                    code="no_api_key",
                )
            # The model list too is asked within the answer's time.
            async with asyncio.timeout(self.settings.grok_timeout) as deadline:
                if held is not None:
                    held.timed(deadline)
                if not self.model:
                    await self.refresh_models()
                self._check_model()
                if toolbox is None:
                    system = self.system_prompt(lang, authority)
                    toolbox = self.tools if self._home_tools() else None
                else:
                    system = system_prompt(self.settings, lang, context)
                # Home tools are off altogether with grok_home_tools, HA's too.
                offered = (
                    toolbox.definitions
                    if toolbox and authority.may_act and self.settings.grok_home_tools
                    else []
                )
                turn = self._turn(system, text, remembered, authority.may_act)
                # aclosing: a generator left unfinished is closed here, not by the
                # loop's finaliser later (which runs it as a stray task).
                rounds = self._rounds(turn, parts, toolbox, offered, deadline)
                async with aclosing(rounds) as deltas:
                    async for delta in deltas:
                        yield delta
            if not "".join(parts).strip():
                raise nothing_said()
        except TimeoutError:
            self._fail(
                parts,
                "the request timed out",
                "Sorry, Grok took too long to answer.",
                "timeout",
            )
        except GrokFailure as failure:
            self.counters.failures += 1
            failure.partial = "".join(parts)
            raise
        except httpx.HTTPError as err:
            self._fail(
                parts,
                f"connection failed: {self._redact(str(err)) or type(err).__name__}",
                "Sorry, I can't reach Grok right now.",
                "unreachable",
            )
        stored = turn.response_id if isinstance(turn, ResponsesTurn) else None
        if held is not None:
            held.keep("".join(parts), stored)
        else:
            self.memory.remember(
                remembered, text, "".join(parts), stored, trusted=authority.may_act
            )

    def _turn(
        self, system: str, text: str, conversation_id: str | None, trusted: bool
    ) -> Turn:
        recalled = self.memory.recall(conversation_id, trusted=trusted)
        max_tokens = self.settings.grok_max_tokens
        if self.api == "responses":
            return ResponsesTurn(
                self.model, max_tokens, system, text, recalled.response_id
            )
        return ChatTurn(self.model, max_tokens, system, text, recalled.turns)

    async def _rounds(
        self,
        turn: Turn,
        parts: list[str],
        toolbox: Toolbox | None,
        offered: list[ToolDefinition],
        deadline: asyncio.Timeout,
    ) -> AsyncGenerator[str]:
        """Requests until the model answers without calling a tool (or the rounds run out).

        offered: none unless the requester may act (reading states leaks too).
        """
        room = max(MIN_ANSWER_CHARS, CHARS_PER_TOKEN * self.settings.grok_max_tokens)
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            # The last round offers no tools: the model must answer with what it has.
            tools = offered if round_number < MAX_TOOL_ROUNDS else []
            said = len(parts)
            calls: list[ToolCall] = []
            async with aclosing(self._request(turn, tools, deadline)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        if len(event.text) > room:
                            raise cut_off("the answer is longer than grok_max_tokens")
                        room -= len(event.text)
                        parts.append(event.text)
                        yield event.text
                    elif (
                        isinstance(event, ToolCall) and len(calls) < MAX_CALLS_PER_ROUND
                    ):
                        calls.append(event)
            if not calls or toolbox is None or not tools:
                return
            self.counters.tool_calls += len(calls)
            results = await run_calls(toolbox, calls)
            turn.add_results("".join(parts[said:]), calls, results)
            if parts and not parts[-1].endswith((" ", "\n")):
                # The next round's words must not run into this round's.
                parts.append(" ")
                yield " "

    async def _request(
        self, turn: Turn, tools: list[ToolDefinition], deadline: asyncio.Timeout
    ) -> AsyncGenerator[TextDelta | ToolCall | Finished]:
        """One request's events, retried on 429 and 5xx before anything came."""
        attempt = 0
        while True:
            async with self._http.stream(
                "POST", turn.path, json=turn.body(tools)
            ) as response:
                if response.status_code == 200:
                    lines = sse_lines(response.aiter_text())
                    async with aclosing(lines), aclosing(turn.events(lines)) as events:
                        async for event in events:
                            yield event
                    return
                body = await read_at_most(response, MAX_ERROR_BYTES)
                status = response.status_code
                detail = error_detail(body, self._redact)
            if status in (400, 404) and turn.forget_previous():
                # The stored conversation is gone (xAI keeps it 30 days): start afresh.
                _PER_QUESTION.log(
                    logging.INFO, "conversation-gone",
                    "Stored conversation not found (%s); starting a new one", detail,
                )  # fmt: skip
                continue
            if status in (401, 403):
                raise GrokFailure(
                    "Grok refused the API key. Please check the key in the Alicia app.",
                    f"HTTP {status}: {detail}",
                    code="key_refused",
                )
            retryable = status == 429 or status >= 500
            delay = retry_delay(response, attempt)
            # A wait past the answer's time fails now, as busy, not as slow later.
            left = (deadline.when() or math.inf) - asyncio.get_running_loop().time()
            if not retryable or attempt >= self.settings.grok_retries or delay >= left:
                spoken = (
                    "Grok is busy right now. Please try again in a moment."
                    if retryable
                    else "Sorry, Grok could not answer that."
                )
                raise GrokFailure(
                    spoken,
                    f"HTTP {status} after {attempt + 1} attempt(s): {detail}",
                    code="busy" if retryable else "failed",
                )
            attempt += 1
            self.counters.retries += 1
            _PER_QUESTION.log(
                logging.WARNING, "retry-429" if status == 429 else "retry-5xx",
                "Grok answered HTTP %s; retry %d in %.2f s", status, attempt, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)

    def _fail(self, parts: list[str], log: str, spoken: str, code: FailureCode) -> None:
        self.counters.failures += 1
        raise GrokFailure(spoken, log, "".join(parts), code)

    def _redact(self, text: str) -> str:
        return redact(text, self.base_url, self.settings.grok_api_key)
