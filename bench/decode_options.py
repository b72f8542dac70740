"""Decode options, ours against wyoming-faster-whisper's, one at a time: tuned on one half, reported on the other.

Run: `.venv/bin/python bench/decode_options.py` (about 14 minutes of one core; the
synthesized clips are cached in $TMPDIR/alicia-decode-options). In process, no
network: faster-whisper on the bundled tiny.en, int8, one thread. Ours is
SpeechToText._decode's decode (the settings' beam or --beam, the vocabulary prompt,
no timestamps, no conditioning, the second look when nothing was heard, once more
without the prompt when it was only read back) of the audio SttSession decodes (up
to the end of speech + tail). The peer's is
wyoming-faster-whisper 3.8.1's faster_whisper_handler.py as bench/voice.py runs it:
beam 1, faster-whisper's defaults otherwise (timestamps, conditioning on previous
text, the whole audio), its names prompt (areas first, up to 200 tokens); beam 5 is
its own default on x86. Each variant changes one thing of ours toward the peer's;
two more sample at fewer temperatures when greedy decoding fails faster-whisper's
limits (only 0, or up to 0.4): both servers fall back up to 1.0, then take the
likeliest result of all, which was a sample in 35 of 403 clips.

Clips: bench/decode_clips.py. The sentences are split in two by position, so no
sentence is in both halves. An option is kept when, on the tuning half, it beats
ours beyond chance (a one-sided sign test over the clips where the two differ,
p < ALPHA), no voice is more than NOISE clips net worse, and it costs at most
SLOWER of our decode time. The chosen combination is then reported on the held-out
half, per voice, against ours and the peer's.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
import hashlib
import json
import math
from pathlib import Path
import statistics
import sys
import time
from typing import Any

import ctranslate2  # type: ignore[import-untyped]
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.decode_clips import OPEN, SAID, Clip, clips, front_end, non_speech
from bench.home_commands import HOME
from tests.wyoming.phrases import normalize, word_errors
from tests.wyoming.voices import available
from wyoming_services.audio import Float32Array
from wyoming_services.settings import Settings
from wyoming_services.vocabulary_prompt import echoes_prompt, fit_prompt, token_counter
from wyoming_services.whisper_model import bundled_model_path
from wyoming_services.whisper_pass import second_look

NOISE = 2  # clips net worse on one voice that still count as chance
ALPHA = 0.05  # a one-sided sign test over the clips where the variant and ours differ
SLOWER = 1.10  # decode time an option may add and still be kept
PEER_PROMPT_TOKENS = 200  # wyoming-faster-whisper's DEFAULT_PROMPT_MAX_TOKENS
HALVES = ("tuning", "held-out")
SEED = 1
FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's (both servers')
type Seen = dict[tuple[Any, ...], list[str]]
type Timing = dict[str, list[float]]


@dataclass(frozen=True)
class Decode:
    """What one variant does: faster-whisper's options, and our steps around the call."""

    beam_size: int
    without_timestamps: bool
    condition_on_previous_text: bool
    prompt: str | None
    trim: bool  # up to the end of speech + tail, as SttSession decodes
    second_look: bool
    echo_check: bool  # the prompt read back: decoded again without it
    # faster-whisper's fallback: when every one fails its limits, the likeliest of all.
    temperature: tuple[float, ...] = FALLBACK

    def options(self) -> dict[str, Any]:
        """The keyword arguments of WhisperModel.transcribe."""
        return {
            "language": None,
            "beam_size": self.beam_size,
            "initial_prompt": self.prompt,
            "condition_on_previous_text": self.condition_on_previous_text,
            "vad_filter": False,
            "without_timestamps": self.without_timestamps,
            "temperature": self.temperature,
        }


@dataclass
class Tally:
    """Clips, exact transcripts, word errors and words of one variant on some clips."""

    clips: int = 0
    exact: int = 0
    errors: int = 0
    words: int = 0
    empty: int = 0

    def add(self, sentence: str, heard: str) -> None:
        wrong, total = word_errors(sentence, heard)
        self.clips += 1
        self.exact += normalize(heard) == normalize(sentence)
        self.errors += wrong
        self.words += total
        self.empty += not heard.strip()

    def cell(self) -> str:
        return f"{self.exact}/{self.clips}, {self.errors / max(self.words, 1):.1%}"


def prompts() -> tuple[str | None, str | None]:
    """Our vocabulary prompt and the peer's names prompt, for bench/home_commands' home."""
    count = token_counter(bundled_model_path())
    areas = [*HOME.areas, *HOME.floors]
    ours = fit_prompt([*areas, *(name for name, _ in HOME.entities)], count)
    chosen: list[str] = []
    for name in [*areas, *(name for name, _ in HOME.entities)]:
        if count(", ".join([*chosen, name]) + ".") > PEER_PROMPT_TOKENS:
            break
        chosen.append(name)
    return ours, ", ".join(chosen) + "."


def variants(
    ours_prompt: str | None, peer_prompt: str | None, beam: int
) -> dict[str, Decode]:
    """Ours, ours with one thing of the peer's, the peer's, beam 5."""
    ours = Decode(beam, True, False, ours_prompt, True, True, True)
    peer = Decode(1, False, True, peer_prompt, False, False, False)
    found = {"ours": ours}
    for option in fields(Decode):
        value = getattr(peer, option.name)
        if getattr(ours, option.name) != value:
            found[f"{option.name}={'peer' if option.name == 'prompt' else value}"] = (
                replace(ours, **{option.name: value})
            )
    if ours.beam_size != 5:
        found["beam_size=5"] = replace(ours, beam_size=5)
    # Neither server's: what sampling at a higher temperature adds when greedy fails.
    found["temperature=0"] = replace(ours, temperature=(0.0,))
    found["temperature≤0.4"] = replace(ours, temperature=FALLBACK[:3])
    return found | {"peer": peer, "peer, beam_size=5": replace(peer, beam_size=5)}


def load_model() -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(bundled_model_path()),
        device="cpu",
        compute_type=Settings().stt_compute_type,
        cpu_threads=1,
    )


class Memo:
    """Features and encoder output kept for one clip, so its variants share them (same result)."""

    def __init__(self, model: Any) -> None:
        self.store: dict[tuple[str, str], Any] = {}
        encode, extract = model.encode, model.feature_extractor
        model.encode = lambda features: self.get("encode", features, encode)
        model.feature_extractor = _Features(extract, self)

    def get(self, kind: str, array: Any, make: Callable[[Any], Any]) -> Any:
        data = np.ascontiguousarray(array)
        key = (
            kind,
            hashlib.sha1(data.tobytes() + str(data.shape).encode()).hexdigest(),
        )
        if key not in self.store:
            self.store[key] = make(array)
        return self.store[key]


class _Features:
    def __init__(self, extract: Any, memo: Memo) -> None:
        self._extract, self._memo = extract, memo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._extract, name)

    def __call__(self, audio: Any, **kwargs: Any) -> Any:
        return self._memo.get("features", audio, lambda a: self._extract(a, **kwargs))


def hear(
    model: Any, decode: Decode, audio: Float32Array, end: int | None, seen: Seen
) -> str:
    """One variant's transcript; end is None when SttSession would hear no speech."""
    if decode.trim and end is None:
        return ""
    audio = audio[:end] if decode.trim else audio
    text = decoded(model, decode, audio, seen)
    if decode.echo_check and echoes_prompt(text, decode.prompt):
        return decoded(model, replace(decode, prompt=None), audio, seen)
    return text


def decoded(model: Any, decode: Decode, audio: Float32Array, seen: Seen) -> str:
    """A pass, and the second look if it heard nothing; seen keeps the clip's passes."""
    options = decode.options()
    key = (*options.items(), audio.size)
    if key not in seen:
        # Seeded, so that a pass falling back to sampling draws alike in most runs.
        ctranslate2.set_random_seed(SEED)
        segments, _info = model.transcribe(audio, **options)
        seen[key] = [segment.text for segment in segments]
    texts = seen[key]
    if decode.second_look and not "".join(texts).strip():
        if (*key, "second look") not in seen:
            ctranslate2.set_random_seed(SEED)
            seen[(*key, "second look")] = second_look(model, audio, options)
        texts = seen[(*key, "second look")]
    return "".join(texts).strip()


@dataclass
class Heard:
    """What every variant heard in one clip."""

    sentence: str
    voice: str
    condition: str
    half: str
    texts: dict[str, str]


def tally(heard: list[Heard], variant: str) -> Tally:
    result = Tally()
    for row in heard:
        result.add(row.sentence, row.texts[variant])
    return result


def paired(heard: list[Heard], variant: str) -> tuple[int, int]:
    """Clips where the variant has fewer word errors than ours, and those with more."""
    better = worse = 0
    for row in heard:
        mine = word_errors(row.sentence, row.texts[variant])[0]
        ours = word_errors(row.sentence, row.texts["ours"])[0]
        better, worse = better + (mine < ours), worse + (mine > ours)
    return better, worse


def verdict(heard: list[Heard], variant: str, voices: list[str]) -> str:
    """Kept when it beats ours beyond chance (sign test) and no voice is > NOISE clips worse."""
    better, worse = paired(heard, variant)
    chance = sum(
        math.comb(better + worse, k) for k in range(better, better + worse + 1)
    )
    p = chance / 2 ** (better + worse)
    said = f"{better} clips better, {worse} worse (p {p:.2f})"
    if p >= ALPHA:
        return f"rejected: {said}"
    for voice in voices:
        up, down = paired([row for row in heard if row.voice == voice], variant)
        if down - up > NOISE:
            return f"rejected: {said}, but {down - up} net worse on {voice}"
    return f"kept: {said}"


def timings(
    model: Any, memo: Memo, sample: list[Clip], run: dict[str, Decode]
) -> dict[str, list[float]]:
    """CPU seconds per decode, features and encoder included (the variants take turns)."""
    seconds: dict[str, list[float]] = {name: [] for name in run}
    for clip in sample:
        audio, end = front_end(clip)
        for name, decode in run.items():
            memo.store.clear()
            started = time.process_time()
            hear(model, decode, audio, end, {})
            seconds[name].append(time.process_time() - started)
    memo.store.clear()
    return seconds


def choose(
    run: dict[str, Decode], heard: list[Heard], voices: list[str], seconds: Timing
) -> tuple[Decode, dict[str, str]]:
    """Ours with every option that the tuning half keeps (and costs at most SLOWER)."""
    chosen, notes, ours = run["ours"], {}, run["ours"]
    for name, decode in run.items():
        if name == "ours" or name.startswith("peer"):
            continue
        notes[name] = verdict(heard, name, voices)
        slower = statistics.median(seconds[name]) / statistics.median(seconds["ours"])
        if notes[name].startswith("kept") and slower > SLOWER:
            notes[name] = f"rejected: decode {slower:.2f}× ours"
        if notes[name].startswith("kept"):
            changed = {
                option.name: getattr(decode, option.name)
                for option in fields(Decode)
                if getattr(decode, option.name) != getattr(ours, option.name)
            }
            chosen = replace(chosen, **changed)
    return chosen, notes


def table(
    heard: list[Heard], names: list[str], voices: list[str], notes: dict[str, str]
) -> None:
    print(f"| variant | {' | '.join(voices)} | all | verdict |")
    print("|---" * (len(voices) + 3) + "|")
    for name in names:
        cells = [tally([r for r in heard if r.voice == v], name).cell() for v in voices]
        total = tally(heard, name).cell()
        print(f"| {name} | {' | '.join(cells)} | **{total}** | {notes.get(name, '')} |")


def report(
    run: dict[str, Decode],
    heard: list[Heard],
    voices: list[str],
    seconds: Timing,
    notes: dict[str, str],
) -> dict[str, str]:
    """Print the tables; the held-out verdict on the chosen combination."""
    speech = [row for row in heard if row.voice != "none"]
    tuning, held_out = ([row for row in speech if row.half == half] for half in HALVES)
    names = [name for name in run if name != "chosen"]
    print("\nTuning half (exact/clips, word error rate):")
    table(tuning, names, voices, notes)
    same = run["chosen"] == run["ours"]
    held = {
        name: verdict(held_out, name, voices).replace("kept", "wins", 1)
        for name in run
        if name != "ours" and not (name == "chosen" and same)
    } | ({"chosen": "= ours"} if same else {})
    print("\nHeld-out half:")
    table(held_out, [*names, "chosen"], voices, held)
    print("\nHeld-out by kind (ours, chosen, peer, peer at beam 5):")
    for kind, said in (("commands", SAID), ("open", OPEN)):
        cells = [
            tally([r for r in held_out if r.sentence in said], n).cell()
            for n in ("ours", "chosen", "peer", "peer, beam_size=5")
        ]
        print(f"| {kind} | {' | '.join(cells)} |")
    print("\nDecode CPU time p50 / p90 ms (features, encoder, decoder; one thread):")
    for name, values in seconds.items():
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        print(f"| {name} | {statistics.median(values) * 1000:.0f} / {p90 * 1000:.0f} |")
    print("\nNon-speech (noise, hum, silence): what each variant heard")
    for name in run:
        said = [row.texts[name] for row in heard if row.voice == "none"]
        print(f"| {name} | {said} |")
    print(f"chosen: {run['chosen']}")
    return held


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, help="sentences of each kind, per half")
    parser.add_argument(
        "--beam", type=int, default=Settings().stt_beam_size, help="our beam size"
    )
    parser.add_argument("--timed", type=int, default=12, help="clips timed per variant")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "decode_options.json"
    )
    args = parser.parse_args()
    model = load_model()
    memo = Memo(model)
    run = variants(*prompts(), args.beam)
    voices = ["piper", *available()]
    halves = {
        half: [*SAID[start::2][: args.limit], *OPEN[start::2][: args.limit]]
        for start, half in enumerate(HALVES)
    }
    heard: list[Heard] = []
    started = time.perf_counter()
    for half, sentences in halves.items():
        extra = non_speech() if half == "held-out" else []
        for clip in [*clips(voices, sentences), *extra]:
            audio, end = front_end(clip)
            seen: Seen = {}
            texts = {name: hear(model, d, audio, end, seen) for name, d in run.items()}
            memo.store.clear()
            heard.append(Heard(clip.sentence, clip.voice, clip.condition, half, texts))
        if half == "tuning":
            timed = clips(voices, sentences)[::5][: args.timed]
            seconds = timings(model, memo, timed, run)
            run["chosen"], notes = choose(run, heard, voices, seconds)
        print(f"{half}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    held = report(run, heard, voices, seconds, notes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "variants": {name: asdict(decode) for name, decode in run.items()},
        "tuning_verdicts": notes, "held_out_verdict": held, "cpu_seconds": seconds,
        "heard": [asdict(row) for row in heard],
    }, indent=1, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
