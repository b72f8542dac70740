"""Grok's answers through Home Assistant's real Assist pipeline: the Alicia agent against HA's Wyoming agent.

Run with `bench/run_agent_pipeline`. A real HA (.venv) with the Alicia integration
(its agent) and the Wyoming entry of our server (HA's Wyoming conversation agent
on the same Grok), the project's fake xAI with a fixed first-token delay and word
rate, the same STT and TTS for both; each question is streamed in real time as a
satellite does, the agents alternated run by run, and the answer's audio is fetched
as a satellite does (at once when HA offers a streamed response). Times are from
the end of speech; the model's own time to its first sentence is known from the
fake's settings.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import json
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import piper_joe
from bench.pipeline_home import (
    LEAD,
    RATE,
    HomeAssistant,
    Relay,
    alicia_entries,
    free_port,
    pipeline,
    run_events,
    start_mosquitto,
    start_server,
    stop_all,
    wait_for_port,
    wyoming_entry,
)  # fmt: skip
from bench.voice import OURS_STT, busy_loop_on_core_0
from custom_components.alicia.bus import agent as agent_wire
from tests.fake_xai import FakeXai
from tests.wyoming.clips import as_format, trimmed
from tests.wyoming.voices import speak

QUESTIONS = [
    "What is the capital of France?",
    "How far away is the moon?",
    "Who wrote the novel Moby Dick?",
]
# The first byte may be the MP3 stream's header, sent before any speech: the
# answer is heard once a few frames came (MP3 at HA's rate: ~2 frames, ~50 ms).
FIRST_AUDIO = 1024
# A spoken answer of a usual length: three sentences, 45 words.
ANSWER = (
    "Paris has been the capital of France for more than a thousand years. "
    "It sits on the river Seine in the north of the country, and about two million "
    "people live in the city itself. The wider region around it is home to roughly "
    "twelve million people."
)
STAGES = (
    "stt-end",
    "first-delta",
    "tts-streaming",
    "intent-end",
    "first-byte",
    "first-audio",
)


@dataclass
class Agent:
    """One pipeline: its name, id and conversation agent."""

    name: str
    pipeline_id: str


def first_sentence_ms(first_token: float, per_word: float) -> float:
    """When the fake has sent the answer's first sentence, from the request (its words are tokens)."""
    words = ANSWER.split(" ")
    end = next(i for i, w in enumerate(words) if w.endswith(("?", ".", "!")))
    return 1000 * (first_token + end * per_word)


def clips_of(voices: list[str], folder: Path) -> list[tuple[str, bytes]]:
    """Every question in every voice, trimmed to the speech, at 16 kHz."""
    made = []
    for voice in voices:
        for question in QUESTIONS:
            pcm, rate = (
                piper_joe(question, folder)
                if voice == "piper"
                else speak(voice, question)
            )
            made.append((question, as_format(trimmed(pcm), rate, RATE, 1)))
    return made


async def stream_turn(
    ha: HomeAssistant,
    pipeline_id: str,
    pcm: bytes,
    on_event: Callable[[dict[str, Any], float], None],
) -> tuple[float, dict[str, float]]:
    """The clip then quiet in real time over assist_pipeline/run; the answer fetched as a satellite does.

    Returns when speech ended, and when the answer's first and last bytes came.
    """
    api = ha.api
    assert api is not None
    audio_times: dict[str, float] = {}
    fetches: list[asyncio.Task[None]] = []
    clock: dict[str, float] = {}

    async def fetch(url: str) -> None:
        size = 0
        async with api.session.get(f"{ha.url}{url}") as response:
            response.raise_for_status()
            async for chunk in response.content.iter_any():
                if chunk:
                    audio_times.setdefault("first-byte", time.perf_counter())
                size += len(chunk)
                if size >= FIRST_AUDIO:
                    audio_times.setdefault("first-audio", time.perf_counter())
        audio_times["last-byte"] = time.perf_counter()
        if size < 1000:
            raise RuntimeError(f"{url}: {size} bytes of audio")

    async with api.session.ws_connect(f"{ha.url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": api.token})
        await ws.receive_json()
        run = {
            "pipeline": pipeline_id, "start_stage": "stt", "end_stage": "tts",
            "input": {"sample_rate": RATE},
        }  # fmt: skip
        async for event in run_events(ws, run, pcm, clock):
            on_event(event, time.perf_counter())
            kind, body = event["type"], event.get("data") or {}
            if kind == "run-start":
                output = body.get("tts_output") or {}
                if output.get("stream_response"):  # a satellite plays it as it comes
                    fetches.append(asyncio.create_task(fetch(output["url"])))
            elif kind == "tts-end" and not fetches:
                fetches.append(asyncio.create_task(fetch(body["tts_output"]["url"])))
    for task in fetches:
        await task
    return clock["t0"] + LEAD + len(pcm) / 2 / RATE, audio_times


async def run_once(
    ha: HomeAssistant, agent: Agent, pcm: bytes, relay: Relay | None = None
) -> dict[str, Any]:
    """One satellite turn; times from the end of speech (and our decodes, through the relay)."""
    seen: dict[str, float] = {}
    data: dict[str, Any] = {}

    def on_event(event: dict[str, Any], now: float) -> None:
        kind, body = event["type"], event.get("data") or {}
        seen.setdefault(kind, now)
        if kind in ("intent-end", "tts-end") and event.get("timestamp"):
            stamped = datetime.fromisoformat(event["timestamp"]).timestamp()
            data.setdefault("late-ms", {})[kind] = round((time.time() - stamped) * 1000)
        if kind == "intent-progress":
            if "content" in (body.get("chat_log_delta") or {}):
                seen.setdefault("first-delta", now)
            if body.get("tts_start_streaming"):
                seen.setdefault("tts-streaming", now)
        elif kind == "stt-end":
            data["transcript"] = body["stt_output"]["text"]
        elif kind == "intent-end":
            response = body["intent_output"]["response"]
            data["answer"] = response["speech"].get("plain", {}).get("speech", "")

    assert ha.api is not None
    # Every answer synthesized anew: HA caches what it spoke (the same text each run).
    await ha.api._json("POST", "/api/services/tts/clear_cache", {})
    began = time.perf_counter()
    speech_end, audio = await stream_turn(ha, agent.pipeline_id, pcm, on_event)
    seen.update(audio)
    if relay is not None:
        decodes = [d for t, d in relay.decodes if t >= began]
        passes = [n for t, n in relay.passes if t >= began]
        if decodes and passes:
            data.update({"decode-ms": round(decodes[0] * 1000), "passes": passes[0]})
        if early := [e for t, e in relay.early if t >= began]:
            data["early-answer"] = early[0]
    data["ms"] = {k: round((v - speech_end) * 1000) for k, v in seen.items()}
    data["agent"] = agent.name
    return data


async def time_tool_rounds(
    ha: HomeAssistant,
    agent: Agent,
    *,
    made: list[tuple[str, bytes]],
    relay: Relay,
    xai: FakeXai,
    rounds: int,
) -> list[float]:
    """What a round of HA's tools adds: the app's calls leaving it to HA's results arriving (ms)."""
    xai.configure(
        tool_calls=[{"name": "homeassistant__GetLiveContext", "arguments": {}}],
        after_tools="Done.",
    )
    times: list[float] = []
    for _ in range(rounds):
        for _question, pcm in made:
            began = time.perf_counter()
            await run_once(ha, agent, pcm)
            calls = relay.first(began, "from", {agent_wire.CALLS})
            results = relay.first(began, "to", {agent_wire.RESULTS})
            if calls is not None and results is not None:
                times.append(round((results - calls) * 1000, 1))
    return times


def p(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(runs: list[dict[str, Any]], agents: list[str], model_ms: float) -> str:
    """The markdown table: p50 / p90 from the end of speech, per agent."""
    lines = [
        "| agent | "
        + " | ".join(STAGES)
        + " | first audio minus model's first sentence | asked early | decode p50 |",
        "|---|" + "---|" * (len(STAGES) + 3),
    ]
    for name in agents:
        mine = [r for r in runs if r["agent"] == name]
        cells = []
        for stage in STAGES:
            values = [r["ms"][stage] for r in mine if stage in r["ms"]]
            cells.append(
                f"{p(values, 0.5):.0f} / {p(values, 0.9):.0f}" if values else "–"
            )
        firsts = [r["ms"]["first-audio"] for r in mine if "first-audio" in r["ms"]]
        over = (
            f"{statistics.median(firsts) - model_ms:+.0f} ms (p50)" if firsts else "–"
        )
        early = sum(bool(r.get("early-answer")) for r in mine)
        decodes = [r["decode-ms"] for r in mine if "decode-ms" in r]
        decode = f"{statistics.median(decodes):.0f} ms" if decodes else "–"
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {over} | {early}/{len(mine)} | {decode} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", default="piper,espeak-ng")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--first-token", type=float, default=0.3)
    parser.add_argument("--per-word", type=float, default=0.05)
    parser.add_argument("--slow", action="store_true")
    parser.add_argument(
        "--no-early", action="store_true", help="the server's early answers off"
    )
    parser.add_argument(
        "--alone",
        action="store_true",
        help="the Alicia agent only, as in a home whose pipelines all use it (the "
        "server asks Grok early for a client whose turns take early answers)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    name = "agent-pipeline" + ("-alone" if args.alone else "")
    out = args.out or ROOT / "bench" / "results" / (
        f"{name}-slow.json" if args.slow else f"{name}.json"
    )
    if args.slow:
        os.sched_setaffinity(0, {0})
        busy = busy_loop_on_core_0()
        atexit.register(busy.kill)
    tmp = Path(tempfile.mkdtemp(prefix="alicia-agent-pipeline-"))
    print(f"agent pipeline: working in {tmp}", flush=True)
    xai = FakeXai(free_port())
    xai.wait_ready()
    xai.configure(
        first_token_delay=args.first_token, token_delay=args.per_word, reply=ANSWER
    )
    os.environ["ALICIA_GROK_API_KEY"] = "bench-key-not-secret"
    port, mqtt_port = free_port(), free_port()
    server = start_server(
        [*OURS_STT, "--uri", f"tcp://127.0.0.1:{port}", "--grok-base-url", xai.base_url,
         "--mqtt-host", "127.0.0.1", "--mqtt-port", str(mqtt_port),
         "--security-key-file", str(tmp / "bridge.pem"),
         *(["--no-grok-early-answers"] if args.no_early else [])],
        tmp / "ours.log",
    )  # fmt: skip
    mosquitto = start_mosquitto(tmp, mqtt_port)
    ha = HomeAssistant(tmp / "ha", free_port())
    runs: list[dict[str, Any]] = []
    try:
        made = clips_of(args.voices.split(","), tmp)
        await wait_for_port(mqtt_port, mosquitto)
        await wait_for_port(port, server)
        api = await ha.start()
        relay = Relay(port)  # HA reaches our server through it: the wire's times
        await relay.start()
        entities = await wyoming_entry(api, relay.port)
        await alicia_entries(api, mqtt_port, tmp / "ours.log", tmp / "bridge.pem")
        agents = [
            Agent("Alicia agent (streamed)", "conversation.alicia"),
            Agent("HA's Wyoming agent (whole answer)", entities["conversation"]),
        ][: 1 if args.alone else 2]
        for agent in agents:
            agent.pipeline_id = await pipeline(
                api, agent.name, entities["stt"], entities["tts"], agent.pipeline_id
            )
        for agent in agents:  # warm-up
            await run_once(ha, agent, made[0][1])
        turn = 0
        for _ in range(args.rounds):
            for question, pcm in made:
                for k in range(len(agents)):
                    agent = agents[(turn + k) % len(agents)]
                    # A text of its own per run: HA caches what it spoke.
                    xai.configure(
                        first_token_delay=args.first_token,
                        token_delay=args.per_word,
                        reply=f"{ANSWER} That was answer {len(runs) + 1}.",
                    )
                    result = await run_once(ha, agent, pcm, relay)
                    result["question"] = question
                    result["model-first-sentence"] = first_sentence_ms(
                        args.first_token, args.per_word
                    )
                    runs.append(result)
                    print(json.dumps(result), flush=True)
                turn += 1
        tool_rounds = await time_tool_rounds(
            ha, agents[0], made=made, relay=relay, xai=xai, rounds=args.rounds
        )
    finally:
        await ha.stop()
        stop_all((server, mosquitto))
        xai.stop()
    model_ms = statistics.median(r["model-first-sentence"] for r in runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"slow": args.slow, "model_first_sentence_ms": model_ms,
                               "tool_round_ms": tool_rounds, "runs": runs}, indent=2))  # fmt: skip
    print(f"the model's first sentence: {model_ms:.0f} ms after its request (p50)")
    print(
        "a tool round (the app's calls out to HA's results back, HA running "
        f"GetLiveContext): p50 {p(tool_rounds, 0.5):.1f} ms, p90 {p(tool_rounds, 0.9):.1f} ms"
    )
    print(report(runs, [a.name for a in agents], model_ms))
    print(f"agent pipeline: HA and server logs in {tmp} ({time.strftime('%H:%M')})")


if __name__ == "__main__":
    asyncio.run(main())
