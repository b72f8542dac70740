"""Reading Wyoming events with limits of our own: sizes, depth and time; the library's reader trusts the lengths it is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import json
import math
import socket
from typing import Any

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


# How often work for a client looks whether the client has hung up meanwhile.
HUNG_UP_POLL_SECONDS = 0.25


class FrameError(ValueError):
    """An event that breaks Wyoming's framing or our limits; the text is for the client."""


class HungUp(ConnectionError):
    """The client closed its end while its request was queued or in work."""


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


class ReadClock:
    """A connection's read deadlines on one timer, moved lazily.

    An audio stream is fifty events a second; a timer (and a cancelled one) per
    event cost a tenth of hearing a chunk. The timer is never set more than `frame`
    seconds ahead, so an event begun later never needs an earlier one: it fires, finds
    the deadline moved on, and sets itself again.
    """

    def __init__(self, frame: float) -> None:
        """For the task that reads (the one running now)."""
        self.frame = frame
        self.expired = False
        self.begun: float | None = None
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._deadline = math.inf
        self._handle: asyncio.TimerHandle | None = None

    def expect(self, deadline: float) -> None:
        """The next event must begin by deadline (loop time)."""
        self._deadline, self.begun = deadline, None
        self._arm()

    def begin(self) -> None:
        """Its first byte came: it must be whole within frame seconds."""
        self.begun = self._loop.time()
        self._arm()

    def pause(self) -> None:
        """Not reading: nothing expires."""
        self._deadline, self.begun = math.inf, None

    def close(self) -> None:
        """The connection is done."""
        self.pause()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def ours(self) -> bool:
        """After a cancel: whether it was this clock's alone (then it is taken back)."""
        if not self.expired:
            return False
        self.expired = False
        return self._task.uncancel() == 0

    def _due(self) -> float:
        return self._deadline if self.begun is None else self.begun + self.frame

    def _arm(self) -> None:
        when = min(self._due(), self._loop.time() + self.frame)
        if self._handle is not None:
            if self._handle.when() <= when:
                return  # it fires first and sets itself again
            self._handle.cancel()
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        due = self._due()
        if due == math.inf:
            return  # not reading
        if self._loop.time() < due:
            self._arm()
            return
        self.expired = True
        self._task.cancel()


async def read_event(
    reader: asyncio.StreamReader,
    wait: float = IDLE_SECONDS,
    frame: float = FRAME_SECONDS,
    begun: Callable[[], None] | None = None,
    clock: ReadClock | None = None,
) -> Event | None:
    """The next event, None when the client is gone; begun() is called at its first byte.

    TimeoutError when nothing begins within `wait` seconds; FrameError when the
    event breaks the rules, or is not whole `frame` seconds after its first byte
    (a peer dripping a byte at a time). clock: the connection's (one per call
    otherwise), which must belong to the task reading.
    """
    if wait <= 0:
        # Past the deadline: even an event already buffered is not read.
        raise TimeoutError
    own = clock is None
    if clock is None:
        clock = ReadClock(frame)
    clock.expect(asyncio.get_running_loop().time() + wait)
    try:
        first = await reader.read(1)
        if not first:
            return None
        clock.begin()
        if begun is not None:
            begun()
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
            data = {**data, **_object(await reader.readexactly(data_length), "data")}
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.CancelledError:
        if not clock.ours():
            raise
        if clock.begun is None:
            raise TimeoutError from None  # nothing began in time: the caller's idle limit
        raise FrameError(
            f"an event took longer than {clock.frame:g} s to arrive (frame_seconds)"
        ) from None
    except asyncio.LimitOverrunError as err:
        raise FrameError("the event header is too long") from err
    except asyncio.IncompleteReadError:
        return None
    except ValueError as err:  # StreamReader.readline past its limit
        if isinstance(err, FrameError):
            raise
        raise FrameError("the event header is too long") from err
    finally:
        if own:
            clock.close()
        else:
            clock.pause()
    return Event(type=kind, data=data, payload=payload)


async def unless_hung_up[T](
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    work: Coroutine[Any, Any, T],
) -> T:
    """The result of work, unless the client hangs up first (cancelled: HungUp).

    A request queued behind others, or in work, is given up and its place freed
    as soon as its client is gone rather than when a write fails. Gone: the
    connection was reset or lost (an RST, also one behind bytes not yet read), or
    it ended (EOF, stray bytes still unread or not) and the client does not take
    what we send: at the end, the client is sent a `ping` once, which a client that
    only half-closed (`nc -N`, socat, a script's shutdown(SHUT_WR)) takes and goes on
    waiting for its answer, while a closed socket answers it with a reset.
    """
    task = asyncio.ensure_future(work)
    probed = False
    try:
        while not task.done():
            await asyncio.wait((task,), timeout=HUNG_UP_POLL_SECONDS)
            if task.done():
                break
            if _lost(reader, writer):
                raise HungUp("it hung up while its request was in work")
            if not probed and (reader.at_eof() or getattr(reader, "_eof", False)):
                # at_eof() is False while unread bytes are buffered: the flag itself.
                probed = True
                writer.write(PROBE)
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait((task,))


# Sent once to a client that ended its side while its request is in work.
PROBE = b'{"type": "ping"}\n'


def _lost(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """The connection was reset, lost or closed (a reset after a FIN shows only in SO_ERROR)."""
    if reader.exception() is not None or writer.transport.is_closing():
        return True
    sock = writer.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    except OSError:
        return True
