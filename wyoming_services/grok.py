"""Answers from Grok (xAI) or any OpenAI-compatible chat API, streamed, with memory."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
import json
import logging
import random
import time
from typing import Any, cast

import httpx

from .settings import Settings

_LOGGER = logging.getLogger(__name__)

XAI_BASE_URL = "https://api.x.ai/v1"

# Spoken, so: short, no markdown, lists or emoji.
DEFAULT_PERSONALITY = (
    "You are {name}, a voice assistant in a home. Your answers are spoken aloud by a "
    "speaker, so answer briefly and warmly, in one to three short sentences, in plain "
    "spoken language: no markdown, no lists, no emoji, no URLs. If you do not know, "
    "say so in one sentence."
)

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "nb": "Norwegian", "fi": "Finnish", "cs": "Czech", "ru": "Russian",
    "uk": "Ukrainian", "tr": "Turkish", "el": "Greek", "ja": "Japanese", "zh": "Chinese",
    "ko": "Korean", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "ga": "Irish",
}  # fmt: skip


class GrokFailure(Exception):
    """The API could not answer; `spoken` is what the user hears, `partial` what came before."""

    def __init__(self, spoken: str, log: str, partial: str = "") -> None:
        """Keep the user's message apart from the log's."""
        super().__init__(log)
        self.spoken = spoken
        self.partial = partial


@dataclass(slots=True)
class _Conversation:
    turns: deque[dict[str, str]]
    last_used: float


@dataclass(slots=True)
class Memory:
    """Recent turns per conversation id, bounded in turns, age and number of conversations."""

    max_turns: int
    idle_seconds: float
    max_conversations: int
    _conversations: OrderedDict[str, _Conversation] = field(default_factory=OrderedDict)

    def history(self, conversation_id: str | None) -> list[dict[str, str]]:
        """The remembered messages, oldest first (none for an unknown or expired id)."""
        self._expire()
        if conversation_id is None or conversation_id not in self._conversations:
            return []
        return list(self._conversations[conversation_id].turns)

    def remember(self, conversation_id: str | None, question: str, answer: str) -> None:
        """Add one exchange; the oldest turns and conversations go first."""
        if conversation_id is None or not answer:
            return
        self._expire()
        conversation = self._conversations.pop(conversation_id, None) or _Conversation(
            deque(maxlen=2 * self.max_turns), 0.0
        )
        conversation.turns.append({"role": "user", "content": question})
        conversation.turns.append({"role": "assistant", "content": answer})
        conversation.last_used = time.monotonic()
        self._conversations[conversation_id] = conversation
        while len(self._conversations) > self.max_conversations:
            self._conversations.popitem(last=False)

    def __len__(self) -> int:
        """Conversations held."""
        return len(self._conversations)

    def _expire(self) -> None:
        limit = time.monotonic() - self.idle_seconds
        while self._conversations:
            oldest = next(iter(self._conversations.values()))
            if oldest.last_used >= limit:
                break
            self._conversations.popitem(last=False)


@dataclass(slots=True)
class GrokCounters:
    """Totals since start."""

    requests: int = 0
    failures: int = 0
    retries: int = 0


class Grok:
    """The chat engine behind the handle program and the bus's ai/request."""

    def __init__(self, settings: Settings) -> None:
        """Set up the HTTP client; nothing is sent until a request or refresh_models()."""
        self.settings = settings
        self.base_url = settings.grok_base_url.rstrip("/")
        self.model = settings.grok_model
        self.available_models: list[str] = []
        self.counters = GrokCounters()
        self.memory = Memory(
            settings.grok_max_turns,
            settings.grok_memory_seconds,
            settings.grok_max_conversations,
        )
        headers = {"User-Agent": "alicia-wyoming-services"}
        if settings.grok_api_key:
            headers["Authorization"] = f"Bearer {settings.grok_api_key}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(
                settings.grok_timeout, connect=min(5.0, settings.grok_timeout)
            ),
        )

    @property
    def needs_key(self) -> bool:
        """XAI itself needs a key; a local OpenAI-compatible server may not."""
        return self.base_url == XAI_BASE_URL and not self.settings.grok_api_key

    @property
    def languages(self) -> list[str]:
        """Languages offered in describe."""
        return list(self.settings.grok_languages) or [self.settings.grok_language]

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def refresh_models(self) -> list[str]:
        """Ask the API which models exist (GET /models); choose one if none is set."""
        if self.needs_key:
            return []
        try:
            response = await self._http.get("/models")
            response.raise_for_status()
            models = sorted(str(m["id"]) for m in response.json().get("data", []))
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            _LOGGER.warning(
                "Could not list models at %s: %s", self.base_url, self._redact(str(err))
            )
            return []
        self.available_models = models
        if not self.model and models:
            self.model = models[0]
            _LOGGER.info(
                "No grok_model set; using %s (of %s)", self.model, ", ".join(models)
            )
        elif self.model and models and self.model not in models:
            _LOGGER.error(
                "Model %s is not offered by %s; available: %s",
                self.model,
                self.base_url,
                ", ".join(models),
            )
        return models

    def system_prompt(self, language: str) -> str:
        """The personality, the context it may use, and the language to answer in."""
        name = self.settings.grok_personality_name
        prompt = (self.settings.grok_personality or DEFAULT_PERSONALITY).replace(
            "{name}", name
        )
        lines = [prompt]
        if self.settings.grok_include_datetime:
            now = datetime.now().astimezone()
            lines.append(f"It is now {now:%A, %d %B %Y, %H:%M} ({now:%Z}).")
        if self.settings.grok_location_name:
            lines.append(f"The home is called {self.settings.grok_location_name}.")
        lines.append(f"Always answer in {LANGUAGE_NAMES.get(language, language)}.")
        return "\n".join(lines)

    async def answer(
        self, text: str, language: str | None = None, conversation_id: str | None = None
    ) -> AsyncGenerator[str]:
        """Yield the answer as it streams in; GrokFailure (with any partial answer) on failure."""
        self.counters.requests += 1
        lang = (
            (language or self.settings.grok_language)
            .replace("_", "-")
            .split("-")[0]
            .lower()
        )
        if self.needs_key:
            self.counters.failures += 1
            raise GrokFailure(
                "I can't answer that yet: no Grok API key is set up in the Alicia add-on.",
                "no grok_api_key configured",
            )
        if not self.model:
            await self.refresh_models()
        messages = [
            {"role": "system", "content": self.system_prompt(lang)},
            *self.memory.history(conversation_id),
            {"role": "user", "content": text},
        ]
        parts: list[str] = []
        try:
            # aclosing: a generator left unfinished is closed here, not by the
            # loop's finaliser later (which runs it as a stray task).
            async with (
                asyncio.timeout(self.settings.grok_timeout),
                aclosing(self._stream(messages, parts)) as deltas,
            ):
                async for delta in deltas:
                    parts.append(delta)
                    yield delta
        except TimeoutError:
            self._fail_partial(
                parts, "the request timed out", "Sorry, Grok took too long to answer."
            )
        except GrokFailure as failure:
            self.counters.failures += 1
            failure.partial = "".join(parts)
            raise
        except httpx.HTTPError as err:
            self._fail_partial(
                parts,
                f"connection failed: {self._redact(str(err)) or type(err).__name__}",
                "Sorry, I can't reach Grok right now.",
            )
        self.memory.remember(conversation_id, text, "".join(parts))

    def _fail_partial(self, parts: list[str], log: str, spoken: str) -> None:
        self.counters.failures += 1
        raise GrokFailure(spoken, log, "".join(parts))

    async def _stream(
        self, messages: list[dict[str, str]], parts: list[str]
    ) -> AsyncGenerator[str]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "max_tokens": self.settings.grok_max_tokens,
        }
        attempt = 0
        while True:
            async with self._http.stream(
                "POST", "/chat/completions", json=body
            ) as response:
                if response.status_code == 200:
                    async with aclosing(self._read_events(response)) as deltas:
                        async for delta in deltas:
                            yield delta
                    return
                await response.aread()
                status = response.status_code
                detail = self._error_detail(response)
                if status in (401, 403):
                    raise GrokFailure(
                        "Grok refused the API key. Please check the key in the Alicia app.",
                        f"HTTP {status}: {detail}",
                    )
                retryable = status == 429 or status >= 500
                if not retryable or attempt >= self.settings.grok_retries:
                    spoken = (
                        "Grok is busy right now. Please try again in a moment."
                        if retryable
                        else "Sorry, Grok could not answer that."
                    )
                    raise GrokFailure(
                        spoken,
                        f"HTTP {status} after {attempt + 1} attempt(s): {detail}",
                    )
                delay = self._retry_delay(response, attempt)
            attempt += 1
            self.counters.retries += 1
            _LOGGER.warning(
                "Grok answered HTTP %s; retry %d in %.2f s", status, attempt, delay
            )
            await asyncio.sleep(delay)

    async def _read_events(self, response: httpx.Response) -> AsyncGenerator[str]:
        """Server-sent events of chat.completion.chunk objects, until [DONE]."""
        finished = False
        # httpx's line iterator is an async generator; typed as a plain iterator.
        lines_iterator = cast(AsyncGenerator[str], response.aiter_lines())
        async with aclosing(lines_iterator) as lines:
            async for line in lines:
                if not line.startswith("data:"):
                    continue  # comments, event names, keep-alives, blank separators
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                    choice = chunk["choices"][0] if chunk.get("choices") else {}
                    delta = (choice.get("delta") or {}).get("content") or ""
                except (
                    ValueError,
                    KeyError,
                    IndexError,
                    TypeError,
                    AttributeError,
                ) as err:
                    raise GrokFailure(
                        "Sorry, Grok's answer came back garbled.",
                        f"malformed stream event {data[:80]!r}: {err}",
                    ) from err
                if delta:
                    yield delta
                finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise GrokFailure(
                "Sorry, Grok's answer was cut off.", "stream ended without [DONE]"
            )

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("retry-after", "")
        try:
            wanted = float(header)
        except ValueError:
            wanted = 0.5 * 2**attempt + random.uniform(0, 0.1)
        # Never wait past the request's own time limit.
        return max(0.0, min(wanted, self.settings.grok_timeout))

    def _error_detail(self, response: httpx.Response) -> str:
        try:
            error = response.json().get("error", response.text)
            message = error.get("message", error) if isinstance(error, dict) else error
        except ValueError:
            message = response.text
        return self._redact(str(message)[:200])

    def _redact(self, text: str) -> str:
        key = self.settings.grok_api_key
        return text.replace(key, "***") if key else text
