"""The encoder's window: 30 s (Whisper's own) against shorter ones (the rest silence's, or cut), held out, per voice.

Run: `.venv/bin/python bench/whisper_window.py` (about 20 minutes of one core; the
clips are cached in $TMPDIR/alicia-whisper-window). In process, no network: the
bundled tiny.en, int8, one thread, the settings' beam and the vocabulary prompt of
bench/home_commands.py's home, as SpeechToText decodes (the prompt-echo re-decode
included). Every sentence of bench/home_commands.py (commands, other speech, near
misses) in five voices at 16 and 8 kHz, trimmed, with 0.3 s of quiet either side.
Each clip is decoded with every window in turn, so a busy machine slows them alike.
The windows were compared on both halves; the figures that count are the held-out
half's, per voice: commands understood (HA's templates after the home-command
matcher, as the server applies it), word errors, false commands on other speech,
and the decode time.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import asdict
import hashlib
import json
from pathlib import Path
import statistics
import sys
import tempfile
import time

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.home_commands import COMMANDS, HOME, OTHER, OTHER_TEXT, vocabulary
from bench.home_commands_score import Counts, Scorer
from tests.wyoming.clips import trimmed
from tests.wyoming.voices import available, speak
from wyoming_services import stt
from wyoming_services.home_language import HomeLanguage
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText, _Decoder
from wyoming_services.tts_voice import bundled_voice_path
from wyoming_services.whisper_model import bundled_model_path
from wyoming_services.whisper_window import WindowedWhisper

CACHE = Path(tempfile.gettempdir()) / "alicia-whisper-window"
RATES = (16000, 8000)
PAD = np.zeros(4800, dtype=np.float32)


def clip(voice: str, text: str, rate: int) -> np.ndarray:
    """The sentence in a voice, at rate, back at 16 kHz with 0.3 s of quiet around it."""
    key = hashlib.sha1(f"{voice}|{text}|{rate}".encode()).hexdigest()[:16]
    path = CACHE / f"{key}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        return cached
    if voice == "piper":
        from piper import PiperVoice  # only for clips not cached

        chunks = list(PiperVoice.load(str(bundled_voice_path())).synthesize(text))
        pcm, native = (
            b"".join(c.audio_int16_bytes for c in chunks),
            chunks[0].sample_rate,
        )
    else:
        pcm, native = speak(voice, text)
    audio = soxr.resample(trimmed(pcm), native, rate)
    audio = (np.clip(audio, -1, 1) * 32767).astype("<i2").astype(np.float32) / 32768
    at_16k = soxr.resample(audio, rate, 16000).astype(np.float32)
    result: np.ndarray = np.concatenate([PAD, at_16k, PAD])
    CACHE.mkdir(exist_ok=True)
    np.save(path, result)
    return result


def variant(name: str) -> tuple[float, bool, bool]:
    """'10cut' -> (10.0, cut off, timed); '30notime' -> (30.0, silence after, no timestamps)."""
    cut, untimed = "cut" in name, "notime" in name
    return float(name.replace("cut", "").replace("notime", "")), cut, untimed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--windows",
        nargs="+",
        default=["30notime", "30", "10"],
        help="seconds encoded; 'cut' after it: the window ends there (else silence's "
        "encoding after); 'notime': decoded without timestamps",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "whisper_window.json"
    )
    args = parser.parse_args()
    engine = SpeechToText(Settings(stt_cpu_threads=1, stt_home_commands=False))
    engine.set_vocabulary(vocabulary())
    model = WindowedWhisper(
        str(bundled_model_path()), device="cpu", compute_type="int8", cpu_threads=1
    )
    decoder = _Decoder(model, 1)
    voices = ["piper", *available()]
    sentences = [*COMMANDS, *OTHER, *OTHER_TEXT]
    heard: dict[str, dict[str, dict[str, str]]] = {
        w: defaultdict(dict) for w in args.windows
    }
    seconds: dict[str, list[float]] = {w: [] for w in args.windows}
    for text in sentences:
        for voice in voices:
            for rate in RATES:
                audio = clip(voice, text, rate)
                for window in args.windows:
                    seconds_encoded, cut, untimed = variant(window)
                    model.window(seconds_encoded, silence_after=not cut)
                    stt.TIMESTAMPS = not untimed
                    started = time.perf_counter()
                    result = engine._decode(decoder, audio, "en")
                    seconds[window].append(time.perf_counter() - started)
                    heard[window][f"{voice}@{rate // 1000}k"][text] = result.text
    report(args, heard, seconds)


def report(
    args: argparse.Namespace,
    heard: dict[str, dict[str, dict[str, str]]],
    seconds: dict[str, list[float]],
) -> None:
    """Print and save the held-out (and tuning) figures per window and voice."""
    scorer = Scorer(HOME, COMMANDS)
    matcher = HomeLanguage("en")
    matcher.set_names(HOME)
    split = [COMMANDS, OTHER, OTHER_TEXT]
    halves = {
        "held out": [s for part in split for s in part[1::2]],
        "tuning": [s for part in split for s in part[0::2]],
    }
    results: dict[str, object] = {"transcripts": dict(heard)}
    for half, sentences in halves.items():
        print(f"\n{half}: understood / commands, WER, false commands / other speech")
        for window, per_voice in heard.items():
            counts = scorer.voices(per_voice, sentences, matcher)
            whole = Counts()
            cells = []
            for voice, c in counts.items():
                whole.add(c)
                cells.append(f"{voice} {c.understood}/{c.commands} {c.wer:.1f}%")
            print(
                f"  {window} s: all {whole.understood}/{whole.commands}, "
                f"WER {whole.wer:.1f}%, false {whole.false_commands}/{whole.other}"
            )
            print("    " + "; ".join(cells))
            results[f"{half} {window}"] = {v: asdict(c) for v, c in counts.items()}
    print("\ndecode time, p50 / p90 ms (one thread)")
    for window, taken in seconds.items():
        p50 = statistics.median(taken) * 1000
        p90 = statistics.quantiles(taken, n=10)[-1] * 1000
        print(f"  {window} s: {p50:.0f} / {p90:.0f}")
        results[f"seconds {window}"] = {"p50": p50, "p90": p90}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
