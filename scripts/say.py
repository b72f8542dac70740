"""Say a sentence to the local Alicia: our TTS speaks it, HA's Assist pipeline hears and answers it.

Usage: scripts/say "turn on the kitchen light". Prints the transcript, the answer,
what changed in HA, and the time each stage took.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
import io
from pathlib import Path
import sys
import time
from typing import Any

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from dev_bootstrap import Bootstrap
from wyoming.audio import AudioChunk, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.tts import Synthesize

from wyoming_services.audio import Converter, PcmFormat, float_to_pcm16


async def speak(port: int, text: str) -> bytes:
    """16 kHz 16-bit mono speech from our Wyoming TTS, with quiet before and after.

    OSError (TimeoutError included) when it says nothing within 30 s.
    """
    async with asyncio.timeout(30), AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Synthesize(text=text).event())
        pcm, rate = b"", 22050
        while (event := await client.read_event()) is not None:
            if AudioChunk.is_type(event.type):
                chunk = AudioChunk.from_event(event)
                pcm, rate = pcm + chunk.audio, chunk.rate
            elif AudioStop.is_type(event.type):
                break
    if not pcm:
        raise OSError(f"no speech for {text!r} (the server's answer had no audio)")
    samples = Converter(PcmFormat(rate, 2, 1)).convert(pcm, last=True)
    return bytes(16000 * 2) + float_to_pcm16(samples) + bytes(16000 * 2)


async def run(args: argparse.Namespace) -> int:
    audio = await speak(args.wyoming_port, args.text)
    ha = Bootstrap(args.url, args.credentials)
    try:
        await ha.login()
        before = {
            s["entity_id"]: s["state"] for s in await ha._json("GET", "/api/states")
        }
        events: list[dict[str, Any]] = []
        async with ha.session.ws_connect(f"{ha.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": ha.token})
            await ws.receive_json()
            await ws.send_json({"id": 1, "type": "assist_pipeline/run", "start_stage": "stt",
                                "end_stage": "tts", "input": {"sample_rate": 16000}})  # fmt: skip
            handler: int | None = None
            while True:
                message = await ws.receive_json()
                if message.get("type") != "event":
                    continue
                event = message["event"]
                events.append(event)
                if event["type"] == "run-start":
                    handler = event["data"]["runner_data"]["stt_binary_handler_id"]
                    prefix = bytes([handler])
                    for offset in range(
                        0, len(audio), 640
                    ):  # 20 ms frames, as a satellite sends
                        await ws.send_bytes(prefix + audio[offset : offset + 640])
                    await ws.send_bytes(prefix)
                if event["type"] in ("run-end", "error"):
                    break
        # HA makes the speech when a player fetches it: fetch it, as a speaker does.
        spoken = await fetch_speech(ha, events)
        await asyncio.sleep(1.0)  # the device reports its new state
        after = {
            s["entity_id"]: s["state"] for s in await ha._json("GET", "/api/states")
        }
    finally:
        await ha.close()

    by_type = {e["type"]: e for e in events}
    if "error" in by_type:
        print(f"error: {by_type['error']['data']}")
        return 1
    transcript = by_type["stt-end"]["data"]["stt_output"]["text"]
    speech = by_type["intent-end"]["data"]["intent_output"]["response"]["speech"]
    answer = (speech.get("plain") or {}).get("speech", "")
    print(f"transcript: {transcript}")
    print(f"answer:     {answer}")
    changes = [
        f"{k}: {before.get(k)} -> {v}"
        for k, v in after.items()
        if before.get(k) != v
        and not k.startswith(
            ("sensor.", "event.", "sun.", "tts.", "stt.", "conversation.")
        )
    ]
    print("changed:    " + ("; ".join(changes) if changes else "nothing"))

    def at(name: str) -> datetime:
        return datetime.fromisoformat(by_type[name]["timestamp"])

    stages = [
        ("speech-to-text", "stt-start", "stt-end"),
        ("intent", "intent-start", "intent-end"),
    ]
    timings = [
        f"{label} {(at(end) - at(start)).total_seconds() * 1000:.0f} ms"
        for label, start, end in stages
        if start in by_type and end in by_type
    ]
    if spoken is not None:
        seconds, size, audio_seconds = spoken
        timings.append(
            f"text-to-speech {seconds * 1000:.0f} ms ({size} bytes, {audio_seconds:.1f} s of audio)"
        )
    print("timings:    " + ", ".join(timings))
    return 0 if spoken is not None or "tts-end" not in by_type else 1


async def fetch_speech(
    ha: Bootstrap, events: list[dict[str, Any]]
) -> tuple[float, int, float] | None:
    """Fetch the answer's audio: seconds it took, its size, and how long it plays."""
    ends = [e for e in events if e["type"] == "tts-end"]
    if not ends:
        return None
    url = ends[0]["data"]["tts_output"]["url"]
    started = time.perf_counter()
    async with ha.session.get(f"{ha.url}{url}") as response:
        if response.status != 200:
            print(f"error: fetching the speech gave HTTP {response.status}")
            return None
        audio = await response.read()
    seconds = time.perf_counter() - started
    # An MP3 or WAV of Piper's 22.05 kHz speech; its length from PyAV, which reads both.
    container = av.open(io.BytesIO(audio), mode="r")
    duration = float(container.duration or 0) / av.time_base
    container.close()
    return seconds, len(audio), duration


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("text")
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument(
        "--credentials", type=Path, default=ROOT / ".dev" / "credentials.json"
    )
    parser.add_argument("--wyoming-port", type=int, default=10300)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
