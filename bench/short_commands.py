"""Short commands without silence, side by side: our server and wyoming-faster-whisper.

Run with `bench/run_short_commands` (it installs the peer into .bench/ first). Both
servers decode the same model files with the same settings (tiny.en, beam 1, int8,
2 threads), each in a network namespace with no network, over a unix socket. The
clips are the bundled Piper voice's, trimmed to the speech, at the rates and
channel counts Wyoming clients send (tests/wyoming/clips.py).
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
        clips = {}
        for text in COMMANDS:
            spoken = await synthesize(ours.uri, text)
            clips[text] = (trimmed(spoken.pcm), spoken.rate)
        for server in (ours, peer):
            exact = empty = errors = words = 0
            heard: dict[str, list[str]] = {}
            for rate, channels in FORMATS:
                for text, (audio, piper_rate) in clips.items():
                    pcm = as_format(audio, piper_rate, rate, channels)
                    event, _, _ = await transcribe(
                        server.uri, pcm, rate, channels=channels
                    )
                    said = str(event.data.get("text", ""))
                    heard.setdefault(text, []).append(said)
                    exact += normalize(said) == normalize(text)
                    empty += not said.strip()
                    wrong, total = word_errors(text, said)
                    errors, words = errors + wrong, words + total
            results[server.name] = {
                "clips": len(clips) * len(FORMATS), "exact": exact, "empty": empty,
                "word_error_rate": round(errors / words, 4), "heard": heard,
            }  # fmt: skip
    finally:
        ours.stop()
        peer.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for name in ("ours", "wyoming-faster-whisper"):
        r = results[name]
        print(
            f"| {name} | {r['exact']} / {r['clips']} | {r['empty']} | {r['word_error_rate']:.1%} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
