"""The home bench/pipeline.py runs in: a real HA in a temporary folder, its entities, areas, Wyoming entries and pipelines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
import os
from pathlib import Path
import re
import shutil
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from dev_bootstrap import Bootstrap, form_answers

from alicia_bus.signing import KeyPair, fingerprint

# (domain, object id, name, area): template entities backed by hidden input_booleans.
ENTITIES = [
    ("light", "kitchen_light", "Kitchen light", "Kitchen"),
    ("light", "desk_lamp", "Desk lamp", "Office"),
    ("light", "bedroom_lamp", "Bedroom lamp", "Bedroom"),
    ("light", "porch_light", "Porch light", None),
    ("switch", "coffee_maker", "Coffee maker", "Kitchen"),
]
# (sentence, entity id, state it must have after the run; it starts in the other one).
COMMANDS = [
    ("Turn on the kitchen light.", "light.kitchen_light", "on"),
    ("Turn off the desk lamp.", "light.desk_lamp", "off"),
    ("Turn on the coffee maker.", "switch.coffee_maker", "on"),
    ("Turn off the lights in the bedroom.", "light.bedroom_lamp", "off"),
    ("Turn on the porch light.", "light.porch_light", "on"),
]


RATE = 16000
CHUNK = 0.02  # seconds of audio per websocket message, as a satellite sends
LEAD = 0.3  # quiet before the speech
MAX_QUIET = 10.0  # quiet streamed after the speech at most


async def stream_audio(
    ws: aiohttp.ClientWebSocketResponse,
    prefix: bytes,
    pcm: bytes,
    stop: asyncio.Event,
    clock: dict[str, float],
    *,
    rate: int = RATE,
) -> None:
    """LEAD of quiet, the speech, then quiet, at real time until stopped; its start in clock["t0"]."""
    began = time.perf_counter()
    clock["t0"] = began
    clock["speech_end_unix"] = time.time() + LEAD + len(pcm) / 2 / rate
    audio = bytes(int(LEAD * rate) * 2) + pcm
    frame = int(CHUNK * rate) * 2
    k = 0
    while not stop.is_set() and k * CHUNK < LEAD + len(pcm) / 2 / rate + MAX_QUIET:
        await asyncio.sleep(max(0.0, began + (k + 1) * CHUNK - time.perf_counter()))
        await ws.send_bytes(
            prefix + audio[k * frame : (k + 1) * frame].ljust(frame, b"\0")
        )
        k += 1
    await ws.send_bytes(prefix)


async def run_events(
    ws: aiohttp.ClientWebSocketResponse,
    run: dict[str, Any],
    pcm: bytes | None,
    clock: dict[str, float],
    *,
    rate: int = RATE,
) -> AsyncIterator[dict[str, Any]]:
    """HA's events of one `assist_pipeline/run`, pcm streamed from run-start until HA heard its end."""
    await ws.send_json({"id": 1, "type": "assist_pipeline/run", **run})
    stop = asyncio.Event()
    sender: asyncio.Task[None] | None = None
    try:
        while True:
            message = await ws.receive_json()
            if message.get("type") != "event":
                if message.get("success") is False:
                    raise RuntimeError(message)
                continue
            event: dict[str, Any] = message["event"]
            if event["type"] == "run-start" and pcm is not None:
                prefix = bytes([event["data"]["runner_data"]["stt_binary_handler_id"]])
                sender = asyncio.create_task(
                    stream_audio(ws, prefix, pcm, stop, clock, rate=rate)
                )
            elif event["type"] in ("stt-vad-end", "stt-end"):
                stop.set()
            yield event
            if event["type"] in ("run-end", "error"):
                return
    finally:
        stop.set()
        if sender is not None:
            await sender


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def home_yaml() -> str:
    """The entities of ENTITIES: template lights and switches backed by input_booleans."""
    booleans = "".join(
        f"  {oid}_state:\n    name: {oid} state\n" for _, oid, _, _ in ENTITIES
    )
    templates = ""
    for domain in ("light", "switch"):
        templates += f"  - {domain}:\n"
        for d, oid, name, _ in ENTITIES:
            if d != domain:
                continue
            flag = f"input_boolean.{oid}_state"
            templates += (
                f"      - name: {name}\n        unique_id: bench_{oid}\n"
                f"        state: \"{{{{ is_state('{flag}', 'on') }}}}\"\n"
                f"        turn_on:\n          - action: input_boolean.turn_on\n"
                f"            target: {{entity_id: {flag}}}\n"
                f"        turn_off:\n          - action: input_boolean.turn_off\n"
                f"            target: {{entity_id: {flag}}}\n"
            )
    return f"input_boolean:\n{booleans}template:\n{templates}"


def configuration(port: int, http_in_yaml: bool, home: str | None = None) -> str:
    """configuration.yaml: only what the pipeline needs, no integration that reaches the internet."""
    http = f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
    return (
        "homeassistant:\n  name: Pipeline bench\n  unit_system: metric\n  time_zone: UTC\n"
        f"  country: DE\n  currency: EUR\n  internal_url: http://127.0.0.1:{port}\n"
        + (http if http_in_yaml else "")
        + "frontend:\nconfig:\nassist_pipeline:\nconversation:\ntts:\n"
        + "logger:\n  default: warning\n"
        + (home_yaml() if home is None else home)
    )


@dataclass
class HomeAssistant:
    """A real HA started from .venv in its own config folder."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    api: Bootstrap | None = None
    home: str | None = None  # configuration.yaml's entities; None: those of ENTITIES

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _launch(self) -> subprocess.Popen[bytes]:
        """Write the config folder and start HA (its HTTP settings where this HA keeps them)."""
        storage = self.folder / ".storage"
        storage.mkdir(parents=True, exist_ok=True)
        (self.folder / "custom_components").mkdir(exist_ok=True)
        (self.folder / "custom_components" / "alicia").symlink_to(
            ROOT / "custom_components" / "alicia"
        )
        store = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "dev_http_store.py"), str(storage), str(self.port)],
            check=False,
        )  # fmt: skip
        (self.folder / "configuration.yaml").write_text(
            configuration(self.port, store.returncode != 0, self.home)
        )
        (storage / "onboarding").write_text(
            '{"version": 4, "minor_version": 1, "key": "onboarding", '
            '"data": {"done": ["core_config", "analytics", "integration"]}}'
        )
        return subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "--config", ".", "--skip-pip"],
            cwd=self.folder,
            stdout=(self.folder / "ha.log").open("w"),
            stderr=subprocess.STDOUT,
        )

    async def start(self) -> Bootstrap:
        self.process = self._launch()
        async with aiohttp.ClientSession() as session:
            for _ in range(480):
                if self.process.poll() is not None:
                    raise RuntimeError(f"HA exited; see {self.folder}/ha.log")
                try:
                    async with session.get(f"{self.url}/manifest.json") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)
        self.api = Bootstrap(self.url, self.folder / "credentials.json")
        await self.api.login()
        return self.api

    async def stop(self) -> None:
        if self.api is not None:
            await self.api.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def wyoming_entry(api: Bootstrap, port: int) -> dict[str, str]:
    """A wyoming config entry through HA's config flow; its entities by domain (stt, tts)."""
    result = await api._json(
        "POST", "/api/config/config_entries/flow", {"handler": "wyoming"}
    )
    body = form_answers(
        result.get("data_schema", []), {"host": "127.0.0.1", "port": port}
    )
    result = await api._json(
        "POST", f"/api/config/config_entries/flow/{result['flow_id']}", body
    )
    if result["type"] != "create_entry":
        raise RuntimeError(f"wyoming flow for port {port}: {result}")
    entry_id = result["result"]["entry_id"]
    for _ in range(100):
        (entities,) = await api.websocket({"type": "config/entity_registry/list"})
        found = {
            e["entity_id"].split(".")[0]: e["entity_id"]
            for e in entities
            if e.get("config_entry_id") == entry_id
        }
        if found:
            return found
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no entities for the wyoming entry on port {port}")


async def furnish(
    api: Bootstrap, entities: Sequence[tuple[str, str, str, str | None]] = ENTITIES
) -> dict[str, str]:
    """Areas for the entities, and the entities exposed to Assist; the area ids by name."""
    (known,) = await api.websocket({"type": "config/area_registry/list"})
    areas = {a["name"]: a["area_id"] for a in known}  # onboarding made some
    for *_, area in entities:
        if area and area not in areas:
            (created,) = await api.websocket(
                {"type": "config/area_registry/create", "name": area}
            )
            areas[area] = created["area_id"]
    ids = [f"{d}.{oid}" for d, oid, _, _ in entities]
    for (_, _, _, area), entity_id in zip(entities, ids, strict=True):
        if area:
            await api.websocket(
                {
                    "type": "config/entity_registry/update",
                    "entity_id": entity_id,
                    "area_id": areas[area],
                }
            )
    await api.websocket(
        {"type": "homeassistant/expose_entity", "assistants": ["conversation"],
         "entity_ids": ids, "should_expose": True}
    )  # fmt: skip
    return areas


async def pipeline(api: Bootstrap, name: str, stt: str, tts: str, agent: str) -> str:
    """An Assist pipeline of these engines and agent; its id."""
    (created,) = await api.websocket({
        "type": "assist_pipeline/pipeline/create", "name": name, "language": "en",
        "conversation_engine": agent, "conversation_language": "en",
        "stt_engine": stt, "stt_language": "en",
        "tts_engine": tts, "tts_language": "en_US", "tts_voice": "en_US-joe-medium",
        "wake_word_entity": None, "wake_word_id": None, "prefer_local_intents": False,
    })  # fmt: skip
    pipeline_id: str = created["id"]
    return pipeline_id


async def set_state(api: Bootstrap, entity_id: str, state: str) -> None:
    """Put an entity in a state through its backing input_boolean."""
    flag = f"input_boolean.{entity_id.split('.', 1)[1]}_state"
    await api._json(
        "POST", f"/api/services/input_boolean/turn_{state}", {"entity_id": flag}
    )


async def state_of(api: Bootstrap, entity_id: str) -> str:
    answer = await api._json("GET", f"/api/states/{entity_id}")
    return str(answer["state"])


def start_mosquitto(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """A broker for the Alicia integration and our bridge, in memory only."""
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return subprocess.Popen(
        [mosquitto, "-c", str(conf)],
        stdout=(folder / "mosquitto.log").open("w"),
        stderr=subprocess.STDOUT,
    )


async def _log_says(log: Path, pattern: str, enough: int = 0) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.findall(pattern, await asyncio.to_thread(log.read_text))
        if found and (not enough or int(found[-1]) >= enough):
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{pattern!r} never in {log}")


async def alicia_entries(
    api: Bootstrap, mqtt_port: int, log: Path, key_file: Path
) -> None:
    """MQTT and Alicia entries as scripts/develop makes them; our bridge trusts HA's key and is approved.

    Approved by its card, as a user does: the Alicia agent asks a Wyoming server
    typed in by hand (these benchmarks' entries) only once it proves it holds the
    approved voice server's key.
    """
    await api.entry(
        "mqtt",
        {"broker": "127.0.0.1", "port": mqtt_port, "set_client_cert": False, "set_ca_cert": "off"},
    )  # fmt: skip
    await api.entry("alicia", {})
    await _log_says(log, r"Trusting Home Assistant's key")
    # Here, not at the top: the app's package imports httpx, which Home Assistant
    # must alias before anything imports it.
    from wyoming_services.bridge import default_bridge_id

    key = KeyPair.from_pem(await asyncio.to_thread(key_file.read_bytes))
    await api.approve({default_bridge_id(): fingerprint(key.public_key)})


async def home_names_held(log: Path, count: int = len(ENTITIES)) -> None:
    """Our server holds the home's names (the vocabulary HA published after the entities were set up)."""
    await _log_says(log, r"STT vocabulary: .* name (\d+) entities", count)


def start_server(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A Wyoming server on TCP (HA reaches it there); nothing downloads: offline and local files only."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        argv, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env
    )


def stop_all(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Ask each to stop, then kill what has not within 10 s."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_for_port(
    port: int, process: subprocess.Popen[bytes], limit: float = 180
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for port {port} exited")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


TYPE = re.compile(rb'"type":\s*"([a-z-]+)"')
DECODE = re.compile(rb'"decode_seconds":\s*([0-9.]+)')  # our transcript's own account
PASSES = re.compile(rb'"passes":\s*([0-9]+)')  # ... and the decodes the turn ran
EARLY = re.compile(
    rb'"early_answer":\s*(true|false)'
)  # ... and whether Grok was asked early


@dataclass
class Relay:
    """A TCP relay in front of a Wyoming server: when each event type first passed, per connection and direction."""

    target: int
    port: int = field(default_factory=free_port)
    # (time, connection number, "to" server or "from" server, event type)
    seen: list[tuple[float, int, str, str]] = field(default_factory=list)
    decodes: list[tuple[float, float]] = field(default_factory=list)
    passes: list[tuple[float, int]] = field(default_factory=list)
    early: list[tuple[float, bool]] = field(default_factory=list)
    _count: int = 0

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._count += 1
        number = self._count
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        await asyncio.gather(
            self._pump(reader, up_writer, number, "to"),
            self._pump(up_reader, writer, number, "from"),
            return_exceptions=True,
        )

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        number: int,
        way: str,
    ) -> None:
        firsts: set[str] = set()
        tail = b""
        try:
            while data := await reader.read(65536):
                now = time.perf_counter()
                writer.write(data)
                for match in TYPE.finditer(tail + data):
                    kind = match.group(1).decode()
                    if kind not in firsts:
                        firsts.add(kind)
                        self.seen.append((now, number, way, kind))
                self.decodes += [
                    (now, float(m.group(1))) for m in DECODE.finditer(data)
                ]
                self.passes += [(now, int(m.group(1))) for m in PASSES.finditer(data)]
                self.early += [
                    (now, m.group(1) == b"true") for m in EARLY.finditer(data)
                ]
                tail = data[-48:]
                await writer.drain()
        finally:
            writer.close()

    def first(self, began: float, way: str, kinds: set[str]) -> float | None:
        """When one of these event types first passed this way since `began`."""
        return next(
            (t for t, _, w, k in self.seen if t >= began and w == way and k in kinds),
            None,
        )
