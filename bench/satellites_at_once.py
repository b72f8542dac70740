"""N bus satellites streaming at once through the real broker and HA's pipeline, against one alone.

Run with `bench/run_satellite --at-once 10` (bench/satellite.py sets up HA, Mosquitto and
our server). Each round: the N clips said one at a time by one satellite, then the same
N said at once, one per satellite, each streamed in real time (20 ms chunks paced by the
clock). A command is acted on correctly when its run ended with its answer played, no
error, and its entity in the state asked; dropped when its run ended without an answer
(an error, or none within a minute). Times from the end of speech to the answer's first byte.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
from typing import Any

import aiohttp

from bench.pipeline import Clip
from bench.pipeline_home import COMMANDS, LEAD, MAX_QUIET, RATE, set_state, state_of
from bench.satellite import Bench, bus_turn, satellites
from wyoming_services.sim_satellite import SimulatedSatellite, Turn

# A turn with no answer within this is dropped.
ANSWER_WITHIN = 60.0


async def _said(satellite: SimulatedSatellite, clip: Clip) -> Turn | None:
    """The clip said (lead, speech, quiet until HA heard the end); None if no answer came."""
    quiet = bytes(int(LEAD * RATE) * 2)
    audio = quiet + clip.pcm + bytes(int(MAX_QUIET * RATE) * 2)
    try:
        return await satellite.speak(
            audio, answer_within=ANSWER_WITHIN, speech_ends=LEAD + clip.speech_seconds
        )
    except TimeoutError:
        return None


async def together(
    bench: Bench, made: list[SimulatedSatellite], said: list[Clip]
) -> list[dict[str, Any]]:
    """Each satellite says its clip, all at once; each command judged."""
    for _, entity_id, wanted in COMMANDS:
        await set_state(bench.api, entity_id, "off" if wanted == "on" else "on")
    await bench.api._json("POST", "/api/services/tts/clear_cache", {})
    turns = await asyncio.gather(
        *(_said(s, c) for s, c in zip(made, said, strict=True))
    )
    await asyncio.sleep(0.5)  # HA may apply a state a moment after the run's end
    results = []
    for satellite, clip, turn in zip(made, said, turns, strict=True):
        _, entity_id, wanted = COMMANDS[clip.command]
        state = await state_of(bench.api, entity_id)
        types = turn.types() if turn is not None else []
        answered = turn is not None and "play" in types and "error" not in types
        heard = [e.text for e in turn.events if e.type == "transcript"] if turn else []
        results.append({
            "stack": "at once", "satellite": satellite.device_id, "voice": clip.voice,
            "command": clip.command, "correct": answered and state == wanted,
            "dropped": not answered, "transcript": heard[0] if heard else None,
            "first-byte": None if turn is None or turn.first_audio is None
            else round(turn.first_audio * 1000),
        })  # fmt: skip
    return results


def percentiles(runs: list[dict[str, Any]], stack: str) -> tuple[float, float]:
    """p50 and p90 of a stack's first bytes, in ms (NaN if fewer than two came)."""
    times = [r["first-byte"] for r in runs if r["stack"] == stack and r["first-byte"]]
    if len(times) < 2:
        return math.nan, math.nan
    deciles = statistics.quantiles(times, n=10, method="inclusive")
    return statistics.median(times), deciles[8]


async def at_once(
    bench: Bench, clips: list[Clip], count: int, rounds: int
) -> list[dict[str, Any]]:
    """Rounds of the clips said by one satellite in turn, then by count satellites at once."""
    said = [clips[index % len(clips)] for index in range(count)]
    runs: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http, satellites(bench, count, http) as made:
        await bus_turn(
            bench.ha, made[0], said[0]
        )  # warm-up: first loads, first answers
        for _ in range(rounds):
            for clip in said:
                alone = await bus_turn(bench.ha, made[0], clip)
                runs.append({
                    "stack": "alone", "voice": clip.voice, "command": clip.command,
                    "correct": alone["correct"], "dropped": "first-byte" not in alone["ms"],
                    "first-byte": alone["ms"].get("first-byte"),
                })  # fmt: skip
                print(json.dumps(runs[-1]), flush=True)
            for result in await together(bench, made, said):
                runs.append(result)
                print(json.dumps(result), flush=True)
    for stack in ("alone", "at once"):
        mine = [r for r in runs if r["stack"] == stack]
        p50, p90 = percentiles(runs, stack)
        print(f"{stack}: {sum(r['correct'] for r in mine)} of {len(mine)} acted on "
              f"correctly, {sum(r['dropped'] for r in mine)} dropped; end of speech -> "
              f"first answer byte p50 {p50:.0f} ms, p90 {p90:.0f} ms")  # fmt: skip
    return runs
