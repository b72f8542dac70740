"""An API's refusals: how long to wait before trying again, and what it said."""

from __future__ import annotations

from collections.abc import Callable
import random
from urllib.parse import urlsplit

import httpx

from wyoming_services.settings import shown_url

from .bounded import loads


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """Retry-After if the API says; else exponential backoff with jitter."""
    try:
        wanted = float(response.headers.get("retry-after", ""))
    except ValueError:
        wanted = 0.5 * 2**attempt + random.uniform(0, 0.1)
    return max(0.0, wanted)


def error_detail(body: bytes, redact: Callable[[str], str]) -> str:
    """The API's error message, short, with the key taken out."""
    text = body.decode("utf-8", "replace")
    try:
        error = loads(text).get("error", text)
        message = error.get("message", error) if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = text
    return redact(str(message)[:200])


def redact(text: str, base_url: str, key: str) -> str:
    """Text without the key or the base URL's credentials."""
    # httpx's errors quote the URL asked, credentials in it included.
    text = text.replace(base_url, shown_url(base_url))
    parts = urlsplit(base_url)
    userinfo = parts.netloc.rpartition("@")[0]
    for secret in (key, userinfo, parts.query):
        text = text.replace(secret, "***") if secret else text
    return text
