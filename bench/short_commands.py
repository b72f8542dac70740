"""Short commands without silence, side by side: our server and wyoming-faster-whisper.

Run with `bench/run_short_commands` (it installs the peer into .bench/ first). Both
servers decode the same model files with the same settings (tiny.en, beam 1, int8,
2 threads), each in a network namespace with no network, over a unix socket. The
clips are the bundled Piper voice's and four Debian voices' (espeak-ng, flite:
tests/wyoming/voices.py), trimmed to the speech, at the rates and channel counts
Wyoming clients send (tests/wyoming/clips.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import sys
import tempfile
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.voice import OURS_STT, peer_stt_command, start, wait_for_describe
from tests.wyoming.client import synthesize, transcribe
from tests.wyoming.clips import as_format, trimmed
from tests.wyoming.phrases import normalize, word_errors
from tests.wyoming.voices import VOICES, speak

COMMANDS = [
    "Stop.", "Pause.", "Lights off.", "Lights on.", "Volume up.", "Volume down.",
    "Good night.", "Good morning.", "Next song.", "Turn on the fan.",
    "Open the blinds.", "Lock the door.", "What time is it?", "Cancel the timer.",
]  # fmt: skip
FORMATS = [(8000, 1), (16000, 1), (48000, 2)]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", type=Path, default=ROOT / ".bench")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "short_commands.json"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="alicia-bench-short-"))
    ours_cmd, peer_cmd = OURS_STT, peer_stt_command(args.peers, tmp)
    ours = start("ours", ours_cmd, tmp / "ours.sock", tmp / "ours.log")
    peer = start(
        "wyoming-faster-whisper", peer_cmd, tmp / "peer.sock", tmp / "peer.log"
    )
    results: dict[str, Any] = {"commands": COMMANDS, "formats": FORMATS}
    try:
        for server in (ours, peer):
            await wait_for_describe(server)
        clips: dict[tuple[str, str], tuple[Any, int]] = {}
        for text in COMMANDS:
            spoken = await synthesize(ours.uri, text)
            clips["piper", text] = (trimmed(spoken.pcm), spoken.rate)
            for voice in VOICES:
                pcm, rate = await asyncio.to_thread(speak, voice, text)
                clips[voice, text] = (trimmed(pcm), rate)
        for server in (ours, peer):
            results[server.name] = await score(server, clips)
    finally:
        ours.stop()
        peer.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(
        "| voice | ours: exact / clips, empty, WER | wyoming-faster-whisper: exact / clips, empty, WER |"
    )
    print("|---|---|---|")
    for voice in ["piper", *VOICES, "all"]:
        cells = []
        for name in ("ours", "wyoming-faster-whisper"):
            r = results[name][voice]
            cells.append(
                f"{r['exact']} / {r['clips']}, {r['empty']}, {r['word_error_rate']:.1%}"
            )
        print(f"| {voice} | {cells[0]} | {cells[1]} |")


async def score(
    server: Any, clips: dict[tuple[str, str], tuple[Any, int]]
) -> dict[str, Any]:
    """Exact transcripts, empty ones and the word error rate, per voice and in all."""
    tallies: dict[str, dict[str, Any]] = {}
    for (voice, text), (audio, voice_rate) in clips.items():
        for rate, channels in FORMATS:
            pcm = as_format(audio, voice_rate, rate, channels)
            event, _, _ = await transcribe(server.uri, pcm, rate, channels=channels)
            said = str(event.data.get("text", ""))
            wrong, total = word_errors(text, said)
            for key in (voice, "all"):
                tally = tallies.setdefault(
                    key, {"clips": 0, "exact": 0, "empty": 0, "errors": 0, "words": 0,
                          "heard": {}},
                )  # fmt: skip
                tally["clips"] += 1
                tally["exact"] += normalize(said) == normalize(text)
                tally["empty"] += not said.strip()
                tally["errors"] += wrong
                tally["words"] += total
                if key == voice:
                    tally["heard"].setdefault(text, []).append(said)
    for tally in tallies.values():
        tally["word_error_rate"] = round(tally.pop("errors") / tally.pop("words"), 4)
    return tallies


if __name__ == "__main__":
    asyncio.run(main())
