"""A bus satellite against the same pipeline driven from HA's websocket: end of speech to first answer audio.

Run with `bench/run_satellite`. A real HA (.venv) in a temporary folder with Mosquitto,
the Alicia integration and our Wyoming server (its bridge on the bus), one Assist
pipeline (our speech-to-text and text-to-speech, HA's agent). Each clip is said twice
in turn, alternating which goes first: over `assist_pipeline/run` as bench/pipeline.py
does, and by the simulated satellite (wyoming_services/sim_satellite.py) over the bus,
both streaming in real time and fetching the answer's URL the same way. Times are from
the end of speech in the clip to the answer's first byte.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import statistics
import sys
import tempfile
from typing import TYPE_CHECKING, Any

import aiohttp
import aiomqtt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import Clip, Stack, clips, run_once
from bench.pipeline_home import (
    COMMANDS,
    LEAD,
    MAX_QUIET,
    RATE,
    HomeAssistant,
    Relay,
    alicia_entries,
    free_port,
    furnish,
    home_names_held,
    pipeline,
    set_state,
    start_mosquitto,
    start_server,
    state_of,
    stop_all,
    wait_for_port,
    wyoming_entry,
)  # fmt: skip
from bench.voice import OURS_STT
from wyoming_services.sim_satellite import SimulatedSatellite

if TYPE_CHECKING:
    from dev_bootstrap import Bootstrap


async def bus_turn(
    ha: HomeAssistant, satellite: SimulatedSatellite, clip: Clip
) -> dict[str, Any]:
    """The clip said by the bus satellite: lead, speech, quiet until HA has heard the end."""
    api = ha.api
    assert api is not None
    _, entity_id, wanted = COMMANDS[clip.command]
    await set_state(api, entity_id, "off" if wanted == "on" else "on")
    await api._json("POST", "/api/services/tts/clear_cache", {})
    quiet = bytes(int(LEAD * RATE) * 2)
    audio = quiet + clip.pcm + bytes(int(MAX_QUIET * RATE) * 2)
    turn = await satellite.speak(audio, speech_ends=LEAD + clip.speech_seconds)
    state = await state_of(api, entity_id)
    ms = {k: round(v * 1000) for k, v in turn.after_speech.items()}
    if turn.first_audio is not None:
        ms["first-byte"] = round(turn.first_audio * 1000)
    return {
        "stack": "bus satellite", "voice": clip.voice, "command": clip.command,
        "correct": state == wanted, "ms": ms, "events": turn.types(),
        "answer-bytes": len(turn.answer),
    }  # fmt: skip


def p50(runs: list[dict[str, Any]], stack: str) -> float:
    """The median first byte of a stack's runs, in ms."""
    median: float = statistics.median(
        r["ms"]["first-byte"] for r in runs if r["stack"] == stack and "first-byte" in r["ms"]
    )  # fmt: skip
    return median


@dataclass
class Bench:
    """What a run of the bench works with: HA, its API, the websocket stack, the broker's port."""

    ha: HomeAssistant
    stack: Stack
    mqtt_port: int
    tmp: Path

    @property
    def api(self) -> Bootstrap:
        """HA's API, logged in."""
        assert self.ha.api is not None
        return self.ha.api


@contextlib.asynccontextmanager
async def bench_home() -> AsyncIterator[Bench]:
    """HA, Mosquitto and our server (its bridge on the bus) with the bench's pipeline, preferred."""
    tmp = Path(tempfile.mkdtemp(prefix="alicia-satellite-"))
    print(f"satellite: working in {tmp}", flush=True)
    port, mqtt_port = free_port(), free_port()
    ours = start_server(
        [*OURS_STT, "--mqtt-host", "127.0.0.1", "--mqtt-port", str(mqtt_port),
         "--security-key-file", str(tmp / "bridge.pem"), "--uri", f"tcp://127.0.0.1:{port}"],
        tmp / "ours.log",
    )  # fmt: skip
    mosquitto = start_mosquitto(tmp, mqtt_port)
    ha = HomeAssistant(tmp / "ha", free_port())
    try:
        await wait_for_port(mqtt_port, mosquitto)
        await wait_for_port(port, ours)
        relay = Relay(port)
        await relay.start()
        api = await ha.start()
        entity = await wyoming_entry(api, relay.port)
        await alicia_entries(api, mqtt_port, tmp / "ours.log", tmp / "bridge.pem")
        await furnish(api)
        await home_names_held(tmp / "ours.log")
        stack = Stack("websocket", "", relay, relay)
        stack.pipeline_id = await pipeline(
            api, "bench", entity["stt"], entity["tts"], "conversation.home_assistant"
        )
        await api.websocket(
            {
                "type": "assist_pipeline/pipeline/set_preferred",
                "pipeline_id": stack.pipeline_id,
            }
        )
        yield Bench(ha, stack, mqtt_port, tmp)
    finally:
        await ha.stop()
        stop_all((ours, mosquitto))
        print(f"satellite: HA and server logs in {tmp}")


@contextlib.asynccontextmanager
async def satellites(
    bench: Bench, count: int, http: aiohttp.ClientSession
) -> AsyncIterator[list[SimulatedSatellite]]:
    """Satellites on the bus, each with its own connection and key, approved, beating."""

    async def fetch(url: str) -> AsyncIterator[bytes]:
        async with http.get(url) as answer:
            async for block in answer.content.iter_any():
                yield block

    async with contextlib.AsyncExitStack() as stack:
        made: list[SimulatedSatellite] = []
        tasks: list[asyncio.Task[None]] = []
        for index in range(count):
            client = await stack.enter_async_context(
                aiomqtt.Client("127.0.0.1", bench.mqtt_port)
            )
            device_id = "sim_satellite" if count == 1 else f"sim_satellite_{index}"
            satellite = SimulatedSatellite(client, device_id=device_id, fetch=fetch)
            tasks.append(asyncio.create_task(_listen(client, satellite)))
            await satellite.start(location="hall")  # no entities: every answer spoken
            made.append(satellite)
        tasks.append(asyncio.create_task(_beat(made)))
        try:
            await bench.api.approve({s.device_id: s.key.fingerprint for s in made})
            await asyncio.sleep(2)  # their entities and selects
            yield made
        finally:
            for task in tasks:
                task.cancel()


async def _listen(client: aiomqtt.Client, satellite: SimulatedSatellite) -> None:
    async for message in client.messages:
        satellite.take(str(message.topic), bytes(message.payload))


async def _beat(made: list[SimulatedSatellite]) -> None:
    while True:
        for satellite in made:
            await satellite.heartbeat()
        await asyncio.sleep(10)


async def side_by_side(
    bench: Bench, made: list[Clip], rounds: int
) -> list[dict[str, Any]]:
    """Each clip by the bus satellite and over HA's websocket, in turn."""
    runs: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as http,
        satellites(bench, 1, http) as (satellite,),
    ):
        await run_once(
            bench.ha, bench.stack, made[0]
        )  # warm-up: first loads, first answers
        await bus_turn(bench.ha, satellite, made[0])
        for round_ in range(rounds):
            for index, clip in enumerate(made):
                first_bus = (round_ + index) % 2 == 0
                for on_bus in (first_bus, not first_bus):
                    result = (
                        await bus_turn(bench.ha, satellite, clip) if on_bus
                        else await run_once(bench.ha, bench.stack, clip)
                    )  # fmt: skip
                    runs.append(result)
                    print(json.dumps({k: result.get(k) for k in ("stack", "voice", "command", "correct", "ms", "answer-bytes", "audio-bytes")}), flush=True)  # fmt: skip
    bus, websocket = p50(runs, "bus satellite"), p50(runs, "websocket")
    print(f"end of speech -> first answer byte, p50: bus satellite {bus:.0f} ms, "
          f"websocket {websocket:.0f} ms: {bus / websocket:.2f}x")  # fmt: skip
    print(f"correct: {sum(r['correct'] for r in runs)} of {len(runs)}")
    return runs


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", default="piper,espeak-ng")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--at-once", type=int, default=0,
        help="N satellites streaming at once against one alone (bench/satellites_at_once.py)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    name = "satellites_at_once.json" if args.at_once else "satellite.json"
    out: Path = args.out or ROOT / "bench" / "results" / name
    async with bench_home() as bench:
        made = clips(args.voices.split(","), bench.tmp)
        if args.at_once:
            from bench.satellites_at_once import at_once

            runs = await at_once(bench, made, args.at_once, args.rounds)
        else:
            runs = await side_by_side(bench, made, args.rounds)
    save(out, runs)


def save(out: Path, runs: list[dict[str, Any]]) -> None:
    """The runs as JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu": os.cpu_count(), "runs": runs}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
