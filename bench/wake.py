"""Wake words: our server against wyoming-microwakeword on the same bundled models.

Run with `bench/run_wake` (it installs the peer into .bench/ first). Both servers run
without network (`unshare -n`) behind a unix socket; the same clips go to both,
alternated. Three measures: detection latency (clips streamed in real time), CPU
per stream (four streams at once, as fast as they are read), and false wakes on
an hour of speech and noise that holds no wake word.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.wake import Detect, Detection, NotDetected

from bench.voice import (
    SLOW_HOST,
    Server,
    _descendants,
    busy_loop_on_core_0,
    start,
    wait_for_describe,
)
from bench.wyoming_probe import Probe
from tests.wyoming.client import synthesize
from tests.wyoming.voices import speak

RATE = 16000
CHUNK = RATE // 50 * 2  # 20 ms of 16-bit mono, as satellites send
WORDS = {"okay_nabu": "Okay Nabu", "hey_jarvis": "Hey Jarvis", "alexa": "Alexa",
         "hey_mycroft": "Hey Mycroft"}  # fmt: skip
VOICES = ["piper", "espeak-ng", "espeak-ng-f3", "flite-slt", "flite-awb"]
CORPUS = ROOT / ".bench" / "wake-corpus.npy"


def to_16k(pcm: bytes, rate: int) -> np.ndarray:
    """16-bit PCM at any rate as float samples at 16 kHz."""
    audio = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768
    return soxr.resample(audio, rate, RATE) if rate != RATE else audio


def pcm16(audio: np.ndarray) -> bytes:
    return bytes((np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes())


def speech_end(audio: np.ndarray) -> float:
    """Seconds into the clip where its last loud 10 ms ends."""
    frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 0.01)
    return (loud[-1] + 1) * 160 / RATE if len(loud) else 0.0


async def say(uri: str, voice: str, text: str) -> np.ndarray:
    """The text in a Debian voice, or in Piper through our own server's TTS."""
    if voice == "piper":
        clip = await synthesize(uri, text)
        return to_16k(clip.pcm, clip.rate)
    pcm, rate = speak(voice, text)
    return to_16k(pcm, rate)


async def stream(
    uri: str, pcm: bytes, names: list[str], paced: bool
) -> list[tuple[float, str]]:
    """Send a clip in 20 ms chunks; every detection with the time it arrived."""
    found: list[tuple[float, str]] = []
    async with AsyncClient.from_uri(uri) as client:

        async def read() -> None:
            while (event := await client.read_event()) is not None:
                if Detection.is_type(event.type):
                    found.append(
                        (time.perf_counter(), Detection.from_event(event).name or "")
                    )
                elif NotDetected.is_type(event.type):
                    return

        reader = asyncio.create_task(read())
        await client.write_event(Detect(names=names).event())
        await client.write_event(AudioStart(rate=RATE, width=2, channels=1).event())
        began = time.perf_counter()
        for index, start_byte in enumerate(range(0, len(pcm), CHUNK)):
            if paced:
                await asyncio.sleep(
                    max(0.0, began + index * 0.02 - time.perf_counter())
                )
            chunk = AudioChunk(
                rate=RATE,
                width=2,
                channels=1,
                audio=pcm[start_byte : start_byte + CHUNK],
                timestamp=index * 20,
            )
            await client.write_event(chunk.event())
        await client.write_event(AudioStop().event())
        if not found:
            await asyncio.wait_for(reader, 60)
        else:
            await asyncio.sleep(0.05)
            reader.cancel()
    return found


async def latency(
    servers: list[Server], clips: list[tuple[str, str, np.ndarray]]
) -> dict[str, Any]:
    """Real-time streams: detection time minus the end of the spoken word."""
    results: dict[str, dict[str, list[Any]]] = {
        s.name: {"ms": [], "missed": []} for s in servers
    }
    for index, (word, voice, audio) in enumerate(clips):
        clip = np.concatenate(
            [
                np.zeros(RATE // 2, np.float32),
                audio,
                np.zeros(RATE * 3 // 2, np.float32),
            ]
        )
        ended = speech_end(clip)
        order = servers if index % 2 == 0 else servers[::-1]
        for server in order:
            began = time.perf_counter()
            found = await stream(server.uri, pcm16(clip), [word], paced=True)
            hits = [at for at, name in found if name == word]
            if hits:
                results[server.name]["ms"].append(1000 * (hits[0] - began - ended))
            else:
                results[server.name]["missed"].append(f"{word}/{voice}")
    return results


def split(audio: np.ndarray, streams: int) -> list[bytes]:
    """The audio in `streams` equal parts, as 16-bit PCM."""
    part = len(audio) // streams
    return [pcm16(audio[i * part : (i + 1) * part]) for i in range(streams)]


async def cpu_per_stream(
    servers: list[Server], audio: np.ndarray, streams: int
) -> dict[str, Any]:
    """CPU seconds per second of audio per stream: `streams` satellites at once, in real time."""
    out = {}
    pieces = split(audio, streams)
    for server in servers:
        probe = Probe(python_pid(server))
        before, began = probe.cpu(), time.perf_counter()
        await asyncio.gather(
            *(stream(server.uri, p, ["okay_nabu"], paced=True) for p in pieces)
        )
        spent = probe.cpu() - before
        out[server.name] = {
            "cpu_ms_per_audio_s": 1000 * spent / (len(audio) / RATE),
            "wall_s": time.perf_counter() - began,
        }
    return out


async def false_wakes(
    servers: list[Server], audio: np.ndarray, streams: int
) -> dict[str, Any]:
    """Detections of any of the four words on audio that holds none (no pacing)."""
    out = {}
    pieces = split(audio, streams)
    for server in servers:
        found = await asyncio.gather(
            *(stream(server.uri, p, list(WORDS), paced=False) for p in pieces)
        )
        names = [name for hits in found for _, name in hits]
        out[server.name] = {"false_wakes": len(names), "words": sorted(set(names))}
    return out


def python_pid(server: Server) -> int:
    """The server's python process (under unshare, and taskset on a slow host)."""
    for pid in _descendants(server.process.pid):
        if "python" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            return pid
    raise RuntimeError(f"{server.name}: no python process")


def corpus(seconds: float) -> np.ndarray:
    """Speech (the project's docs read aloud by four voices) and noise, no wake word."""
    if CORPUS.exists():
        cached: np.ndarray = np.load(CORPUS)
        if len(cached) >= seconds * RATE:
            return cached[: int(seconds * RATE)]
    lines = [
        line.strip() for path in sorted((ROOT / "docs").glob("*.md"))
        for line in path.read_text().splitlines()
        if len(line.split()) > 6 and line[:1].isalpha() and "|" not in line
    ]  # fmt: skip
    rng = np.random.default_rng(11)
    parts: list[np.ndarray] = []
    total = 0
    voices = [v for v in VOICES if v != "piper"]
    for index, line in enumerate(lines * 20):
        if total >= seconds * RATE:
            break
        text = "".join(c for c in line if c.isalnum() or c in " ,.'?")
        if any(
            w.lower() in text.lower() for w in ("nabu", "jarvis", "alexa", "mycroft")
        ):
            continue
        audio = to_16k(*speak(voices[index % len(voices)], text[:300]))
        if index % 7 == 0:  # a noisy room now and then
            audio = audio + rng.normal(0, 0.02, len(audio)).astype(np.float32)
        if index % 11 == 0:  # noise alone
            noise = rng.normal(0, rng.uniform(0.005, 0.05), RATE * 3).astype(np.float32)
            parts.append(noise)
            total += len(noise)
        parts.append(audio)
        total += len(audio)
    result: np.ndarray = np.concatenate(parts)[: int(seconds * RATE)].astype(np.float32)
    CORPUS.parent.mkdir(exist_ok=True)
    np.save(CORPUS, result)
    return result


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--peer", type=Path, default=ROOT / ".bench" / "wyoming-microwakeword"
    )
    parser.add_argument("--corpus-seconds", type=float, default=3600)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument(
        "--slow", action="store_true", help="servers on core 0 beside a busy loop"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "wake.json"
    )
    args = parser.parse_args()
    busy = None
    if args.slow:
        SLOW_HOST[:] = ["taskset", "-c", "0"]
        busy = busy_loop_on_core_0()
    folder = Path(tempfile.mkdtemp(prefix="alicia-wake-"))
    servers = [
        start("alicia", [sys.executable, "-m", "wyoming_services"], folder / "ours.sock", folder / "ours.log"),
        start("wyoming-microwakeword", [str(args.peer / "bin" / "python"), "-m", "wyoming_microwakeword"],
              folder / "peer.sock", folder / "peer.log"),
    ]  # fmt: skip
    try:
        for server in servers:
            await wait_for_describe(server)
            await Probe(python_pid(server)).rests(
                120
            )  # our models load in the background
        clips = [(word, voice, await say(servers[0].uri, voice, phrase))
                 for word, phrase in WORDS.items() for voice in VOICES]  # fmt: skip
        print(f"latency: {len(clips)} clips, real time", flush=True)
        results: dict[str, Any] = {
            "slow": args.slow,
            "latency": await latency(servers, clips),
        }
        audio = corpus(args.corpus_seconds)
        print(f"cpu and false wakes: {len(audio) / RATE:.0f} s of audio", flush=True)
        results["cpu"] = await cpu_per_stream(
            servers, audio[: RATE * 600], args.streams
        )
        results["false_wakes"] = await false_wakes(servers, audio, args.streams)
        results["corpus_seconds"] = len(audio) / RATE
    finally:
        for server in servers:
            server.stop()
        if busy is not None:
            busy.kill()
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    report(results)


def report(results: dict[str, Any]) -> None:
    """The tables of docs/benchmarks.md."""
    ours, peer = "alicia", "wyoming-microwakeword"
    print(
        "| server | detected | latency p50 / p90 (ms) | CPU per stream (ms per s of audio) | false wakes |"
    )
    print("|---|---|---|---|---|")
    for name in (ours, peer):
        lat = results["latency"][name]
        total = len(lat["ms"]) + len(lat["missed"])
        print(f"| {name} | {len(lat['ms'])}/{total} | {p(lat['ms'], 50):.0f} / {p(lat['ms'], 90):.0f} "
              f"| {results['cpu'][name]['cpu_ms_per_audio_s']:.2f} "
              f"| {results['false_wakes'][name]['false_wakes']} in {results['corpus_seconds']:.0f} s |")  # fmt: skip
    ratio_cpu = (
        results["cpu"][ours]["cpu_ms_per_audio_s"]
        / results["cpu"][peer]["cpu_ms_per_audio_s"]
    )
    ratio_lat = statistics.median(results["latency"][ours]["ms"] or [float("nan")]) / statistics.median(
        results["latency"][peer]["ms"] or [float("nan")])  # fmt: skip
    print(f"CPU ours/peer: {ratio_cpu:.2f}×; latency p50 ours/peer: {ratio_lat:.2f}×")
    for name in (ours, peer):
        if results["latency"][name]["missed"]:
            print(f"{name} missed: {', '.join(results['latency'][name]['missed'])}")


if __name__ == "__main__":
    asyncio.run(main())
