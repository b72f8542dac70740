"""An API's model list, read within bounds of time, size and number, and shown short."""

from __future__ import annotations

import asyncio

import httpx

from .bounded import loads, read_at_most
from .models import ModelInfo

# A list past these is not a real one: what is read of it, and what is kept.
MAX_LIST_BYTES = 4 << 20
MAX_MODELS = 500
# Names a log line shows of a list.
SHOWN_NAMES = 10


async def list_models(
    http: httpx.AsyncClient, path: str, key: str, seconds: float
) -> list[ModelInfo]:
    """The models listed at path (ValueError, TimeoutError, httpx.HTTPError if not)."""
    async with asyncio.timeout(seconds), http.stream("GET", path) as response:
        response.raise_for_status()
        body = await read_at_most(response, MAX_LIST_BYTES + 1)
    if len(body) > MAX_LIST_BYTES:
        raise ValueError(f"the list is longer than {MAX_LIST_BYTES} bytes")
    items = loads(body)[key]
    if not isinstance(items, list):
        raise TypeError("the list is not a list")
    return [ModelInfo.parse(item) for item in items[:MAX_MODELS]]


def shown(names: list[str]) -> str:
    """The first few names, and how many in all."""
    if len(names) <= SHOWN_NAMES:
        return ", ".join(names) or "none"
    return f"{', '.join(names[:SHOWN_NAMES])} and {len(names) - SHOWN_NAMES} more"
