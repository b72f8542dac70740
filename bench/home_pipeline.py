"""Home commands through HA's real Assist pipeline: the held-out half of bench/home_commands.py, per voice, ours vs the peer.

Run with `bench/run_home_pipeline` (it installs the peers into .bench/ first). A
real HA (bench/pipeline_home.py) furnished with bench/home_commands.py's HOME
(optimistic template entities of each domain, in areas on two floors, exposed to
Assist); our server as installed (Mosquitto, our bridge, HA's MQTT and Alicia
entries: the home's names are its vocabulary) and wyoming-faster-whisper at
`--vad-endpointing 0.3` with the same names as its `--initial-prompt`, both at beam
5. Every held-out sentence, in every voice at 16 kHz, is streamed in real time over
`assist_pipeline/run` (stt → intent, HA's own agent), the stacks alternated.
A command is acted on correctly when HA's answer (its kind and the entities it acted
on) and its reading of the transcript (intent and values) are those it gives for the
sentence as written; other speech is a false command when HA acted on something.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
import json
import os
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from dev_bootstrap import Bootstrap
from homeassistant.util import slugify

from bench.home_commands import COMMANDS, HOME, OTHER, OTHER_TEXT, clips, prompt
from bench.home_commands_score import Scorer, total
from bench.pipeline_home import (
    LEAD,
    RATE,
    HomeAssistant,
    alicia_entries,
    free_port,
    furnish,
    home_names_held,
    pipeline,
    run_events,
    start_mosquitto,
    start_server,
    stop_all,
    wait_for_port,
    wyoming_entry,
)  # fmt: skip
from bench.voice import Server, ours_stt_command, pct, peer_stt_command
from tests.wyoming.voices import available

BEAM = 5  # our default, and the peer's own on x86
PEER_VAD = "0.3"  # the peer's best setting (issue #27)
# HOME names no places: every area and floor command finds a light there, and "the
# temperature in the bedroom" a thermostat.
PLACES = {
    "Nanoleaf panels": "Living Room", "Zoë's bedroom lamp": "Bedroom",
    "Lutron dimmer": "Nursery", "ceiling light": "Hallway", "porch light": "Patio",
    "Hue strip": "Aoife's study", "desk lamp": "Office", "Shelly plug": "Office",
    "coffee maker": "Kitchen", "Christmas tree": "Living Room", "front door": "Hallway",
    "back door": "Kitchen", "garage door": "Garage", "office blinds": "Office",
    "living room curtains": "Living Room", "Roborock": "Living Room",
    "Ecobee": "Living Room", "thermostat": "Bedroom", "Sonos": "Living Room",
    "kitchen speaker": "Kitchen", "bathroom fan": "Bathroom", "Dyson": "Bedroom",
    "outdoor temperature": "Patio", "humidity": "Bathroom",
}  # fmt: skip
FLOORS = {
    "Upstairs": ("Bedroom", "Nursery", "Aoife's study", "Bathroom"),
    "Downstairs": ("Kitchen", "Living Room", "Office", "Hallway", "Garage", "Patio"),
}
NOOP = [{"delay": "00:00:00"}]
# Optimistic template entities keep the state they are told; the Sonos always plays
# (HA pauses only a player that plays), the sensors have fixed values.
OPTIONS: dict[str, dict[str, Any]] = {
    "light": {"optimistic": True, "turn_on": NOOP, "turn_off": NOOP, "set_level": NOOP},
    "switch": {"optimistic": True, "turn_on": NOOP, "turn_off": NOOP},
    "lock": {"optimistic": True, "lock": NOOP, "unlock": NOOP},
    "cover": {"optimistic": True, "open_cover": NOOP, "close_cover": NOOP},
    "vacuum": {"state": "docked", "start": NOOP, "pause": NOOP, "return_to_base": NOOP},
    "climate": {
        "optimistic": True, "hvac_modes": "{{ ['heat', 'off'] }}",
        "current_temperature": "{{ 20.5 }}", "set_temperature": NOOP,
        "set_hvac_mode": NOOP,
    },
    "media_player": {
        "state": "playing", "media_pause": NOOP, "media_play": NOOP,
        "turn_on": NOOP, "turn_off": NOOP,
    },
    "fan": {"optimistic": True, "turn_on": NOOP, "turn_off": NOOP},
}  # fmt: skip
BY_NAME: dict[str, dict[str, Any]] = {
    "garage door": {"device_class": "garage"},
    "office blinds": {"device_class": "blind"},
    "living room curtains": {"device_class": "curtain"},
    "outdoor temperature": {"state": "12", "unit_of_measurement": "°C",
                            "device_class": "temperature", "state_class": "measurement"},
    "humidity": {"state": "45", "unit_of_measurement": "%", "device_class": "humidity",
                 "state_class": "measurement"},
}  # fmt: skip
ENTITIES = [(d, slugify(n), n, PLACES[n]) for n, d in HOME.entities]


def home_yaml() -> str:
    """HOME as template entities (JSON is YAML)."""
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for domain, oid, name, _ in ENTITIES:
        by_domain[domain].append(
            {"name": name, "unique_id": f"bench_{oid}",
             **OPTIONS.get(domain, {}), **BY_NAME.get(name, {})}
        )  # fmt: skip
    blocks = [{domain: items} for domain, items in by_domain.items()]
    return "template: " + json.dumps(blocks) + "\n"


async def floors(api: Bootstrap, areas: dict[str, str]) -> None:
    """The two floors, each area on its own."""
    for floor, names in FLOORS.items():
        (made,) = await api.websocket(
            {"type": "config/floor_registry/create", "name": floor}
        )
        for name in names:
            await api.websocket(
                {"type": "config/area_registry/update", "area_id": areas[name],
                 "floor_id": made["floor_id"]}
            )  # fmt: skip


async def assist(
    ha: HomeAssistant,
    pipeline_id: str,
    pcm: bytes | None,
    text: str = "",
    *,
    rate: int = RATE,
) -> dict[str, Any]:
    """One run to intent-end: the clip streamed in real time (or text); transcript, answer, stt-end ms."""
    api = ha.api
    assert api is not None
    data: dict[str, Any] = {}
    start, run_input = (
        ("intent", {"text": text}) if pcm is None else ("stt", {"sample_rate": rate})
    )
    async with api.session.ws_connect(f"{ha.url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": api.token})
        await ws.receive_json()
        run = {"pipeline": pipeline_id, "start_stage": start, "end_stage": "intent",
               "input": run_input}  # fmt: skip
        async for event in run_events(ws, run, pcm, data, rate=rate):
            kind = event["type"]
            if kind == "stt-end":
                data["stt-end"] = time.perf_counter()
                data["transcript"] = event["data"]["stt_output"]["text"]
            elif kind == "intent-end":
                data["response"] = event["data"]["intent_output"]["response"]
            elif kind == "error":
                data["error"] = event["data"]
    if pcm is not None and "t0" in data and "stt-end" in data:
        speech_end = data.pop("t0") + LEAD + len(pcm) / 2 / rate
        data["stt_end_ms"] = round((data.pop("stt-end") - speech_end) * 1000)
    data.pop("speech_end_unix", None)
    return data


async def readings(api: Bootstrap, sentences: list[str]) -> list[list[Any] | None]:
    """HA's agent's reading of each sentence: intent and its values (names, areas aside)."""
    (debug,) = await api.websocket(
        {"type": "conversation/agent/homeassistant/debug", "sentences": sentences}
    )
    found: list[list[Any] | None] = []
    for result in debug["results"]:
        if not result or not result.get("match", True):
            found.append(None)
            continue
        slots = result.get("slots", {})
        values = sorted(
            (k, str(v)) for k, v in slots.items() if k not in ("name", "area", "floor")
        )
        found.append([result["intent"]["name"], values])
    return found


def outcome(run: dict[str, Any]) -> list[Any]:
    """What HA did: the kind of answer, the entities it acted on, what it said."""
    response = run.get("response") or {}
    acted = sorted(t["id"] for t in (response.get("data") or {}).get("success", []))
    said = ((response.get("speech") or {}).get("plain") or {}).get("speech", "")
    return [response.get("response_type"), acted, said]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", default=",".join(["piper", *available()]))
    parser.add_argument("--peers", type=Path, default=ROOT / ".bench")
    parser.add_argument("--beam", type=int, default=BEAM)
    parser.add_argument(
        "--rate", type=int, default=RATE, choices=(16000, 8000),
        help="the clips' rate (HA resamples 8 kHz to 16 kHz for the STT)",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, help="default: bench/results/home_pipeline[-8k].json"
    )
    parser.add_argument(
        "--limit", type=int, help="the first N of each kind (a quick check)"
    )
    parser.add_argument(
        "--results", type=Path, help="print the tables of an earlier run's results"
    )
    args = parser.parse_args()
    if args.results:
        print("\n".join(table(json.loads(args.results.read_text()))))
        return
    voices = args.voices.split(",")
    commands = COMMANDS[1::2][: args.limit]
    others = [*OTHER[1::2], *OTHER_TEXT[1::2]][: args.limit]
    held_out = [*commands, *others]
    tmp = Path(tempfile.mkdtemp(prefix="alicia-home-pipeline-"))
    print(f"home pipeline: working in {tmp}", flush=True)
    ports = {"ours": free_port(), "peer": free_port()}
    mqtt_port = free_port()
    servers = {
        "ours": [
            *ours_stt_command(args.beam), "--mqtt-host", "127.0.0.1",
            "--mqtt-port", str(mqtt_port), "--security-key-file", str(tmp / "bridge.pem"),
            "--uri", f"tcp://127.0.0.1:{ports['ours']}",
        ],
        "peer": [
            *peer_stt_command(args.peers, tmp, args.beam), "--vad-endpointing", PEER_VAD,
            "--initial-prompt", prompt(), "--uri", f"tcp://127.0.0.1:{ports['peer']}",
        ],
    }  # fmt: skip
    processes = {n: start_server(argv, tmp / f"{n}.log") for n, argv in servers.items()}
    processes["mosquitto"] = start_mosquitto(tmp, mqtt_port)
    ha = HomeAssistant(tmp / "ha", free_port(), home=home_yaml())
    runs: list[dict[str, Any]] = []
    expected: dict[str, dict[str, Any]] = {}
    try:
        for name, process in processes.items():
            await wait_for_port(
                mqtt_port if name == "mosquitto" else ports[name], process
            )
        ours = Server("ours", processes["ours"], f"tcp://127.0.0.1:{ports['ours']}", 0)
        made: list[tuple[str, str, bytes]] = []  # voice, sentence, 16 kHz PCM
        debian = [v for v in voices if v != "piper"]
        for text in held_out:
            for voice, pcm, rate in await clips(ours, debian, text):
                if rate == args.rate and voice.split("@")[0] in voices:
                    made.append((voice.split("@")[0], text, pcm))
        api = await ha.start()
        entries = {n: await wyoming_entry(api, p) for n, p in ports.items()}
        await alicia_entries(api, mqtt_port, tmp / "ours.log", tmp / "bridge.pem")
        await floors(api, await furnish(api, ENTITIES))
        await home_names_held(tmp / "ours.log", len(ENTITIES))
        pipelines = {
            n: await pipeline(api, n, entries[n]["stt"], entries["ours"]["tts"],
                              "conversation.home_assistant")
            for n in ports
        }  # fmt: skip
        # What HA does with each sentence as written, and how it reads it.
        for text, reading in zip(held_out, await readings(api, held_out), strict=True):
            done = outcome(await assist(ha, pipelines["ours"], None, text))
            expected[text] = {"reading": reading, "outcome": done}
            print(f"as written: {text!r} -> {reading} {done}", flush=True)
        # A command HA cannot carry out as written in this home measures nothing.
        unable = [c for c in commands if not expected[c]["outcome"][1]]
        print(f"dropped, HA does not act on them as written: {unable}", flush=True)
        commands = [c for c in commands if c not in unable]
        made = [m for m in made if m[1] not in unable]
        for stack in pipelines.values():  # warm-up: first loads, first answers
            await assist(ha, stack, made[0][2], rate=args.rate)
        for turn, (voice, text, pcm) in enumerate(made):
            for k in range(
                len(pipelines)
            ):  # alternated, the order rotating clip by clip
                stack = list(pipelines)[(turn + k) % len(pipelines)]
                run = await assist(ha, pipelines[stack], pcm, rate=args.rate)
                heard = run.get("transcript", "")
                (reading,) = await readings(api, [heard]) if heard else [None]
                want = expected[text]
                result = {
                    "stack": stack, "voice": voice, "sentence": text,
                    "transcript": heard, "stt_end_ms": run.get("stt_end_ms"),
                    "reading": reading, "outcome": outcome(run),
                }  # fmt: skip
                if text in commands:
                    # No reading: HA's fuzzy matching acted, not its templates.
                    result["correct"] = outcome(run) == want["outcome"] and (
                        reading is None or reading == want["reading"]
                    )
                else:
                    kind, acted, _ = outcome(run)
                    result["false_command"] = kind == "action_done" and bool(acted)
                runs.append(result)
                print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        await ha.stop()
        stop_all(processes.values())
    report = {
        "beam": args.beam, "rate": args.rate, "cpu": os.cpu_count(), "load": os.getloadavg(),
        "expected": expected, "runs": runs,
    }  # fmt: skip
    out = args.out or ROOT / "bench" / "results" / (
        "home_pipeline.json" if args.rate == RATE else "home_pipeline-8k.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print("\n".join(table(report)))
    print(f"home pipeline: HA and server logs in {tmp}")


def same_action(run: dict[str, Any], want: list[Any]) -> bool:
    """HA acted the same way on the same entities (an area named beside them aside)."""
    kind, acted, said = run["outcome"]

    def entities(ids: list[str]) -> list[str]:
        return [i for i in ids if "." in i]

    # The answer without its last word: "Turned off the light(s)", "Temperature set to 21".
    return [kind, entities(acted), said.split()[:-1]] == [
        want[0], entities(want[1]), want[2].split()[:-1]
    ]  # fmt: skip


def table(report: dict[str, Any]) -> list[str]:
    """The markdown rows for docs/benchmarks.md: per voice, then all."""
    runs, expected = report["runs"], report["expected"]
    voices = list(dict.fromkeys(r["voice"] for r in runs))
    commands = list(dict.fromkeys(r["sentence"] for r in runs if "correct" in r))
    others = list(dict.fromkeys(r["sentence"] for r in runs if "false_command" in r))
    scorer = Scorer(HOME, COMMANDS)
    rows = [
        f"| held out, {report.get('rate', RATE) // 1000} kHz | **acted on correctly: ours / peer** | same entities, same"
        " action | as text (hassil) | exact | WER | false commands |",
        "|---|---|---|---|---|---|---|",
    ]
    for voice in [*voices, "all"]:
        cells: dict[str, list[str]] = defaultdict(list)
        for stack in ("ours", "peer"):
            mine = [
                r for r in runs if r["stack"] == stack and voice in (r["voice"], "all")
            ]
            heard: dict[str, dict[str, str]] = defaultdict(dict)
            for r in mine:
                heard[r["voice"]][r["sentence"]] = r["transcript"]
            text = total({v: scorer.voice(t, [*commands, *others], None)
                          for v, t in heard.items() if set(t) == {*commands, *others}})  # fmt: skip
            said = [r for r in mine if "correct" in r]
            alike = [same_action(r, expected[r["sentence"]]["outcome"]) for r in said]
            other = [r for r in mine if "false_command" in r]
            cells["acted"].append(f"{sum(r['correct'] for r in said)}/{len(said)}")
            cells["alike"].append(f"{sum(alike)}/{len(said)}")
            cells["text"].append(f"{text.understood}/{text.commands}")
            cells["exact"].append(f"{text.exact}/{text.commands + text.other}")
            cells["wer"].append(f"{text.wer:.1f}")
            cells["false"].append(
                f"{sum(r['false_command'] for r in other)}/{len(other)}"
            )
        rows.append(
            f"| {voice} | **{' / '.join(cells['acted'])}** | {' / '.join(cells['alike'])}"
            f" | {' / '.join(cells['text'])} | {' / '.join(cells['exact'])}"
            f" | {' / '.join(cells['wer'])} % | {' / '.join(cells['false'])} |"
        )
    for stack in ("ours", "peer"):
        mine = [r for r in runs if r["stack"] == stack]
        ms = [r["stt_end_ms"] for r in mine if r["stt_end_ms"] is not None]
        fuzzy = sum(r.get("correct", False) and r["reading"] is None for r in mine)
        rows.append(
            f"{stack}: stt-end p50 / p90 {pct(ms, 0.5)} / {pct(ms, 0.9)} ms;"
            f" acted on correctly through HA's fuzzy matching (no template reads it): {fuzzy}"
        )
    return rows


if __name__ == "__main__":
    asyncio.run(main())
