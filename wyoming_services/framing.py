"""Reading Wyoming events with limits of our own: sizes, depth and time; the library's reader trusts the lengths it is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json

from wyoming.event import Event

from alicia_bus.text import nested_deeper_than

# A header line is at most the StreamReader's limit (64 KiB, asyncio's default);
# an event's data (a synthesize text of up to tts_max_chars, say) at most 1 MiB.
MAX_DATA = 1024 * 1024
# An audio chunk of a whole second of 48 kHz, 32-bit, 8-channel audio is 1.5 MiB;
# clients send tens of milliseconds at a time.
MAX_PAYLOAD = 2 * 1024 * 1024
MAX_DEPTH = 16
# How long the next event may be awaited, and how long one may take once begun.
IDLE_SECONDS = 120.0
FRAME_SECONDS = 10.0


class FrameError(ValueError):
    """An event that breaks Wyoming's framing or our limits; the text is for the client."""


def _object(raw: bytes, what: str) -> dict[str, object]:
    try:
        text = raw.decode("utf-8")
        if nested_deeper_than(text, MAX_DEPTH):
            raise FrameError(f"{what} is nested deeper than {MAX_DEPTH} levels")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, FrameError):
            raise
        raise FrameError(f"{what} is not JSON: {err}") from err
    if not isinstance(value, dict):
        raise FrameError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _length(header: dict[str, object], name: str, limit: int) -> int:
    value = header.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise FrameError(f"{name} must be a whole number of bytes up to {limit}")
    return value


async def read_event(
    reader: asyncio.StreamReader,
    wait: float = IDLE_SECONDS,
    frame: float = FRAME_SECONDS,
    begun: Callable[[], None] | None = None,
) -> Event | None:
    """The next event, None when the client is gone; begun() is called at its first byte.

    TimeoutError when nothing begins within `wait` seconds; FrameError when the
    event breaks the rules, or is not whole `frame` seconds after its first byte
    (a peer dripping a byte at a time).
    """
    # One timer for both limits, moved on at the first byte: an audio stream is
    # fifty events a second, and each timer costs the loop a handle.
    if wait <= 0:
        # Past the deadline: even an event already buffered is not read.
        raise TimeoutError
    first = b""
    try:
        async with asyncio.timeout(wait) as window:
            first = await reader.read(1)
            if not first:
                return None
            if begun is not None:
                begun()
            window.reschedule(asyncio.get_running_loop().time() + frame)
            line = first if first == b"\n" else first + await reader.readline()
            if not line.endswith(b"\n"):
                return None  # the connection ended mid-header
            header = _object(line, "the event header")
            kind = header.get("type")
            if not isinstance(kind, str) or not kind:
                raise FrameError("the event header needs a type")
            data_length = _length(header, "data_length", MAX_DATA)
            payload_length = _length(header, "payload_length", MAX_PAYLOAD)
            data = header.get("data") or {}
            if not isinstance(data, dict):
                raise FrameError("data must be a JSON object")
            if data_length:
                data = {
                    **data,
                    **_object(await reader.readexactly(data_length), "data"),
                }
            payload = (
                await reader.readexactly(payload_length) if payload_length else None
            )
    except TimeoutError as err:
        if not first:
            raise  # nothing began within `wait`: the caller's idle limit
        raise FrameError(
            f"an event took longer than {frame:g} s to arrive (frame_seconds)"
        ) from err
    except asyncio.LimitOverrunError as err:
        raise FrameError("the event header is too long") from err
    except asyncio.IncompleteReadError:
        return None
    except ValueError as err:  # StreamReader.readline past its limit
        if isinstance(err, FrameError):
            raise
        raise FrameError("the event header is too long") from err
    return Event(type=kind, data=data, payload=payload)
