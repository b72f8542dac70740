"""Reading what an upstream sends within bounds: JSON of any depth, bodies of any size."""

from __future__ import annotations

import json
from typing import Any

import httpx


def loads(text: str | bytes) -> Any:
    """json.loads, with JSON nested too deep for the parser a ValueError like any other."""
    try:
        return json.loads(text)
    except RecursionError as err:
        raise ValueError("JSON nested too deeply") from err


async def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The body's first limit bytes (about); the rest is left unread."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])
