"""Soak of the Wyoming server under hostile clients: memory, fairness, lock-out, log noise.

Run: `.venv/bin/python bench/soak_wyoming.py` (127.0.0.1 only; it stops by itself in
about five minutes). It starts the server with the real models and its default
settings, warms it up with ordinary use (two replies spoken, one with a long
sentence, and two commands transcribed at once, three times), takes its resident
memory at rest, then:

A. 100,000 characters without punctuation in one `synthesize`, while another client
   says "Hello blue red red.", "Hello green red red." ... (first audio against its
   time at rest; never the same text twice, which the server would say again from
   memory); the long request's client leaves after 20 s, and the server's CPU is
   watched until it rests;
B. a `synthesize-start` stream of 50,000 unpunctuated characters in 1,000-character
   chunks (with "Hello." beside it), then 60,000 more: refused past tts_max_chars;
C. 300 hostile connections, kept open for 20 s (150 silent, re-opened whenever the
   server closes them; 150 sending requests and never reading), while a normal client
   asks for describe, "Hello." and a transcription every second;
D. 600 sessions, four at a time (describe, speech, streamed speech, transcription),
   every fifth cut by a reset mid-stream: memory, open files, tracebacks in the log,
   empty transcripts;
E. malformed and mistyped events: each must be answered with an error naming the field.

It prints a table of the figures (docs/benchmarks.md, "Wyoming soak").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import json
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from bench.wyoming_probe import (
    Probe,
    ask,
    encoded,
    header,
    hello_first_audio,
    ms,
    recording,
    reset,
    tracebacks_in,
)
from tests.conftest import ServerProcess
from tests.security.test_network_to_wyoming import MISTYPED
from tests.wyoming.client import TtsAudio, host_port, synthesize, transcribe

WORDS = "and then the quick brown fox jumps over the lazy dog "
REPLY = (
    "The living room is at twenty one degrees, the kitchen is a little warmer, and "
    "the bedroom window has been open since this morning, so it is cooler there. "
    "Shall I close it? I can also turn on the heating for an hour."
)
SHORT = "The kitchen light is on. It is dimmed to half."
# An answer with a long sentence and no comma: Piper gets it in pieces of the
# longest size (80 characters), as it gets unpunctuated text.
LONG_REPLY = (
    "Tomorrow will be sunny in the morning with a light breeze from the south and "
    "clouds will come in from the west in the late afternoon before some light rain "
    "reaches the town in the evening."
)
Figures = dict[str, str]


async def warm_up(uri: str) -> TtsAudio:
    clip = await synthesize(uri, "Turn on the kitchen light.")
    clip.pcm = bytes(int(0.3 * clip.rate) * 2) + clip.pcm + bytes(clip.rate)
    for _ in range(3):  # two rooms at once: replies, and commands beside them
        await asyncio.gather(
            synthesize(uri, REPLY),
            synthesize(uri, LONG_REPLY),
            transcribe(uri, clip.pcm, clip.rate),
            transcribe(uri, clip.pcm, clip.rate),
        )
        await synthesize(uri, "Hello.")
    return clip


async def long_speech(
    uri: str, probe: Probe, events: list[bytes], idle_hello: float, later: list[bytes]
) -> Figures:
    """Send events on one connection and read its audio while Hellos are timed beside it;
    after 20 s send `later` (if any) and leave; then wait for the server to rest."""
    reader, writer = await asyncio.open_connection(*host_port(uri))
    heard = 0.0
    first = asyncio.Event()
    error: list[str] = []

    async def listen() -> None:
        nonlocal heard
        while (event := await async_read_event(reader)) is not None:
            if AudioChunk.is_type(event.type):
                heard += len(event.payload or b"") / 2 / 22050
                first.set()
            elif Error.is_type(event.type):
                error.append(Error.from_event(event).text)
                first.set()
                return

    async def send(sent: list[bytes]) -> None:
        with contextlib.suppress(OSError):  # refused: the server let go
            for event in sent:
                writer.write(event)
                await writer.drain()

    listening = asyncio.create_task(listen())
    await send(events)
    started = time.perf_counter()
    await asyncio.wait_for(first.wait(), 60)
    hellos = []
    while time.perf_counter() - started < 20 and not error:
        hellos.append(await hello_first_audio(uri))
        await asyncio.sleep(0.5)
    wall = time.perf_counter() - started
    audio = heard
    await send(later)
    if later:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listening, 10)
    listening.cancel()
    reset(writer)
    rest = await probe.rests()
    return {
        "Hello first audio beside it, median / max (ms)": ms(hellos),
        "Hello, ratio to its time at rest (median)": (
            f"{statistics.median(hellos) / idle_hello:.2f}x" if hellos else "-"
        ),
        "its audio: seconds of speech heard in seconds": f"{audio:.0f} in {wall:.0f}",
        "refused with": error[0][:60] if error else "-",
        "server at rest after it was cut off (s)": f"{rest:.1f}",
    }


def stream_events() -> tuple[list[bytes], list[bytes]]:
    text = (WORDS * 1000)[:50_000]
    chunks = [
        encoded("synthesize-chunk", {"text": text[i : i + 1000]})
        for i in range(0, len(text), 1000)
    ]
    more = [encoded("synthesize-chunk", {"text": (WORDS * 600)[:30_000]})] * 2
    return [encoded("synthesize-start"), *chunks], [*more, encoded("synthesize-stop")]


async def hostile(uri: str, until: float) -> int:
    """150 silent connections, opened again a second after the server closes one;
    150 asking for describes (100) or a spoken reply (50) and never reading."""
    opened = 0
    talk = [header("describe") * 2000] * 2 + [header("synthesize", {"text": REPLY})]

    async def silent() -> None:
        nonlocal opened
        while time.perf_counter() < until:
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection(*host_port(uri))
                opened += 1
                with contextlib.suppress(OSError, TimeoutError):
                    await asyncio.wait_for(reader.read(), until - time.perf_counter())
                writer.close()
            await asyncio.sleep(1)

    async def not_reading(index: int) -> None:
        nonlocal opened
        _, writer = await asyncio.open_connection(*host_port(uri))
        opened += 1
        writer.write(talk[index % 3])
        await asyncio.sleep(max(0.0, until - time.perf_counter()))
        writer.transport.abort()

    await asyncio.gather(
        *(silent() for _ in range(150)), *(not_reading(i) for i in range(150))
    )
    return opened


async def lock_out(uri: str, clip: TtsAudio, idle_hello: float) -> Figures:
    until = time.perf_counter() + 20
    attack = asyncio.create_task(hostile(uri, until))
    await asyncio.sleep(2)
    described, hellos, heard = [], [], []
    while time.perf_counter() < until - 2:
        described.append((await ask(uri, [Describe().event()], "info"))[1])
        hellos.append(await hello_first_audio(uri))
        heard.append((await ask(uri, recording(clip), "transcript"))[1])
        await asyncio.sleep(0.5)
    opened = await attack
    return {
        "hostile connections opened in 20 s": str(opened),
        "normal client: describe answered, median / max (ms)": ms(described),
        "normal client: Hello first audio, median / max (ms)": ms(hellos),
        "normal client: Hello, ratio to its time at rest (median)": (
            f"{statistics.median(hellos) / idle_hello:.2f}x"
        ),
        f"normal client: transcription of {clip.seconds:.1f} s sent at once (ms)": ms(
            heard
        ),
    }


async def session(uri: str, clip: TtsAudio, index: int) -> str:
    """One ordinary session; every fifth is cut by a reset mid-stream."""
    kind, cut = index % 4, index % 5 == 4
    reader, writer = await asyncio.open_connection(*host_port(uri))
    fmt = {"rate": clip.rate, "width": 2, "channels": 1}
    sent: list[Event] = []
    if kind == 0:
        sent = [Synthesize(text="Turn on the kitchen light.").event()]
    elif kind == 1:
        sent = [SynthesizeStart().event(), SynthesizeChunk(text=SHORT).event()]
        sent += [] if cut else [SynthesizeStop().event()]
    elif kind == 2:
        end = len(clip.pcm) // 2 // 2048 * 2048 if cut else len(clip.pcm)
        sent = [AudioStart(**fmt).event()] + [
            AudioChunk(audio=clip.pcm[i : i + 2048], **fmt).event()
            for i in range(0, end, 2048)
        ]
        sent += [] if cut else [AudioStop().event()]
    else:
        writer.write(header("describe"))
    for message in sent:
        await async_write_event(message, writer)
    if cut and kind in (2, 3):
        reset(writer)
        return "cut"
    done = {0: "audio-stop", 1: "synthesize-stopped", 2: "transcript", 3: "info"}[kind]
    while (event := await async_read_event(reader)) is not None:
        if cut and AudioChunk.is_type(event.type):
            reset(writer)
            return "cut"
        if event.type == done:
            writer.close()
            if kind == 2:
                return "heard" if event.data.get("text") else "empty"
            return "done"
    writer.close()
    return "closed"


async def sessions(uri: str, clip: TtsAudio, probe: Probe, log: Path) -> Figures:
    await asyncio.sleep(1)
    rss, fds = probe.rss(), probe.fds()
    tracebacks = tracebacks_in(log)
    results: list[str] = []
    for batch in range(0, 600, 4):
        results += await asyncio.gather(
            *(session(uri, clip, i) for i in range(batch, batch + 4))
        )
    await asyncio.sleep(2)
    return {
        "sessions: done / cut / transcripts / empty transcripts": (
            f"{results.count('done')} / {results.count('cut')} / "
            f"{results.count('heard') + results.count('empty')} / "
            f"{results.count('empty')}"
        ),
        "RSS before / after 600 sessions (MiB)": f"{rss:.0f} / {probe.rss():.0f}",
        "open files before / after": f"{fds} / {probe.fds()}",
        "tracebacks in the server's log": str(tracebacks_in(log) - tracebacks),
    }


async def malformed(uri: str) -> Figures:
    language = json.dumps({"language": "x" * 1_000_000}).encode()
    cases = [
        *MISTYPED.values(),
        ([header("transcribe", data_length=len(language)), language], "language"),
        ([header("synthesize", data_length=2**31)], "data_length"),
        ([b"not json\n"], "not JSON"),
    ]
    answered, longest = 0, 0
    for sent, field in cases:
        reader, writer = await asyncio.open_connection(*host_port(uri))
        writer.write(b"".join(sent))
        with contextlib.suppress(TimeoutError, OSError):
            event = await asyncio.wait_for(async_read_event(reader), 5)
            if event is not None and Error.is_type(event.type):
                text = Error.from_event(event).text
                answered += field in text
                longest = max(longest, len(text))
        writer.close()
    return {
        "malformed or mistyped events answered naming the field": (
            f"{answered} / {len(cases)}"
        ),
        "longest error text (characters)": str(longest),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "server.log"
        server = ServerProcess(log=log)
        await asyncio.to_thread(server.wait_ready)
        probe = Probe(server.process.pid)
        figures: dict[str, Figures] = {}
        try:
            started = probe.rss()
            clip = await warm_up(server.uri)
            await asyncio.sleep(1)
            idle = probe.rss()
            idle_hello = statistics.median(
                [await hello_first_audio(server.uri) for _ in range(7)]
            )
            figures["at rest"] = {
                "RSS after start / after warm-up (MiB)": f"{started:.0f} / {idle:.0f}",
                "Hello first audio at rest (ms)": f"{idle_hello:.0f}",
            }
            stream = stream_events()
            steps: list[tuple[str, Callable[[], Awaitable[Figures]]]] = [
                ("A. 100,000 unpunctuated characters", lambda: long_speech(
                    server.uri, probe, [encoded("synthesize", {"text": (WORDS * 2000)[:100_000]})],
                    idle_hello, [])),
                ("B. a stream of 50,000 + 60,000 unpunctuated characters",
                 lambda: long_speech(server.uri, probe, stream[0], idle_hello, stream[1])),
                ("C. 300 hostile connections", lambda: lock_out(server.uri, clip, idle_hello)),
                ("D. 600 sessions, 20 % cut", lambda: sessions(server.uri, clip, probe, log)),
                ("E. malformed input", lambda: malformed(server.uri)),
            ]  # fmt: skip
            for name, step in steps:
                print(f"{name} ...", flush=True)
                probe.start_peak()
                figures[name] = await step()
                peak = probe.stop_peak()
                figures[name]["peak RSS (MiB), ratio to rest"] = (
                    f"{peak:.0f}, {peak / idle:.2f}x"
                )
            figures["whole run"] = {
                "VmHWM, the process's peak RSS (MiB), ratio to rest": (
                    f"{probe.high_water():.0f}, {probe.high_water() / idle:.2f}x"
                ),
                "tracebacks in the server's log": str(tracebacks_in(log)),
            }
        finally:
            server.stop()
    print("\n| step | measure | value |\n|---|---|---|")
    for name, rows in figures.items():
        for measure, value in rows.items():
            print(f"| {name} | {measure} | {value} |")
    print(f"(cpu count {os.cpu_count()})")


if __name__ == "__main__":
    asyncio.run(main())
