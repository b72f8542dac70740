"""What bench/soak_wyoming.py sees of the server: its memory and CPU, and raw Wyoming exchanges."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
from pathlib import Path
import socket
import statistics
import struct
import time
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event, write_event
from wyoming.tts import Synthesize

from tests.wyoming.client import TtsAudio, host_port


class Probe:
    """The server process seen from outside: memory, CPU time, open files."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._sampler: asyncio.Task[None] | None = None

    def _status(self, key: str) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def rss(self) -> float:
        return self._status("VmRSS")

    def high_water(self) -> float:
        return self._status("VmHWM")

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def start_peak(self) -> None:
        self.peak = self.rss()

        async def sample() -> None:
            with contextlib.suppress(OSError):  # the server is gone
                while True:
                    self.peak = max(self.peak, self.rss())
                    await asyncio.sleep(0.02)

        self._sampler = asyncio.create_task(sample())

    def stop_peak(self) -> float:
        if self._sampler is not None:
            self._sampler.cancel()
        return max(self.peak, self.rss())

    async def rests(self, limit: float = 30) -> float:
        """Seconds until the server's CPU use falls below 5 % over half a second."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            before = self.cpu()
            await asyncio.sleep(0.5)
            if self.cpu() - before < 0.025:
                return time.perf_counter() - started - 0.5
        return limit


def header(kind: str, data: dict[str, Any] | None = None, **extra: Any) -> bytes:
    """An event as raw bytes: its data inline in the header line, as a peer may."""
    return json.dumps({"type": kind, "data": data or {}, **extra}).encode() + b"\n"


def encoded(kind: str, data: dict[str, Any] | None = None) -> bytes:
    """An event as the wyoming library frames it (data after the header line)."""
    out = io.BytesIO()
    write_event(Event(kind, data or {}), out)
    return out.getvalue()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset, as a client that crashes or loses its network."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def ask(uri: str, sent: list[Event], done: str) -> tuple[float, float]:
    """Milliseconds from connecting to the first answer, and to the `done` event.

    The connection is then closed without waiting: a server making room may have
    closed it first, which is no failure of the answer.
    """
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(*host_port(uri))
    for event in sent:
        await async_write_event(event, writer)
    first = 0.0
    while (answer := await async_read_event(reader)) is not None:
        if Error.is_type(answer.type):
            raise RuntimeError(Error.from_event(answer).text)
        if not first and answer.type in ("audio-chunk", "info", "transcript"):
            first = (time.perf_counter() - started) * 1000
        if answer.type == done:
            writer.close()
            return first, (time.perf_counter() - started) * 1000
    raise ConnectionError(f"closed before {done}")


_HELLOS = itertools.count(1)
# One syllable each: every "Hello" as long as the others, a thousand of them.
_COLOURS = (
    "red",
    "blue",
    "green",
    "gold",
    "pink",
    "gray",
    "black",
    "white",
    "brown",
    "teal",
)


def hello(number: int) -> str:
    """The number-th "Hello": three colours after it, none said before it in a run."""
    words = (_COLOURS[number // 10**place % 10] for place in range(3))
    return f"Hello {' '.join(words)}."


async def hello_first_audio(uri: str) -> float:
    """First audio of a "Hello" never said before: a run, not an answer said again."""
    text = hello(next(_HELLOS))
    return (await ask(uri, [Synthesize(text=text).event()], "audio-stop"))[0]


def recording(clip: TtsAudio) -> list[Event]:
    fmt = {"rate": clip.rate, "width": 2, "channels": 1}
    return [
        AudioStart(**fmt).event(),
        *(
            AudioChunk(audio=clip.pcm[i : i + 2048], **fmt).event()
            for i in range(0, len(clip.pcm), 2048)
        ),
        AudioStop().event(),
    ]


def tracebacks_in(log: Path) -> int:
    return log.read_text().count("Traceback")


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.0f} / {max(values):.0f}"
