"""Home commands picked by sound: can Whisper's own decoder choose among the matcher's near commands?

Run: `.venv/bin/python bench/home_by_sound.py` (about 25 minutes of one core; the
clips are bench/whisper_window.py's, cached in $TMPDIR/alicia-whisper-window), then
`--results bench/results/home_by_sound.json` to score again without decoding.
Every sentence of bench/home_commands.py in five voices at 16 and 8 kHz with 0.3 s
of quiet around it, decoded as SpeechToText decodes (tiny.en, int8, one thread,
beam 5, the home's vocabulary prompt). For each transcript, the home-command
matcher's candidates (one or two edits: a known name for a span, a word of HA's
sentences for a word) are collected at a looser likeness (ALIKE 0.35, not 0.55),
kept when HA's templates read them as a command, and the best eight by likeness
are scored by sound: the log-probability Whisper's decoder gives each sentence
(teacher-forced, `ctranslate2` `align`, the same encoder output and prompt), beside
the transcript's own. The report: how many commands the matcher misses, how many of
those have any candidate at all, and what a pick by sound (the best-scored
candidate, within `delta` of the transcript and `margin` ahead of the next) would
understand and falsely make of other speech, tuned on one half, shown on the other.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import statistics
import sys
import time
from typing import Any

import ctranslate2  # type: ignore[import-untyped]
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.home_commands import COMMANDS, HOME, OTHER, OTHER_TEXT, vocabulary
from bench.home_commands_score import Scorer
from bench.whisper_window import RATES, clip
from tests.wyoming.voices import available
from wyoming_services.home_language import HomeLanguage, words
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText, _Decoder
from wyoming_services.whisper_model import bundled_model_path
from wyoming_services.whisper_window import WindowedWhisper

LOOSE = 0.35
SCORED = 8
DELTAS = (0.0, 2.0, 4.0, 8.0)
MARGINS = (0.0, 1.0, 3.0)


class Remembering(WindowedWhisper):
    """The model, keeping its last encoder output for the scoring."""

    last: Any = None

    def encode(self, features: np.ndarray) -> Any:
        self.last = super().encode(features)
        return self.last


def candidates(matcher: HomeLanguage, text: str) -> list[dict[str, Any]]:
    """The matcher's commands near the transcript, best likeness first."""
    asked = text.rstrip().endswith("?")
    found: dict[str, dict[str, Any]] = {}
    for score, sentence in matcher._candidates(words(text)):
        command = matcher.recognize(sentence)
        if sentence in found or command is None or command.open_ended:
            continue
        guarded = score < 1.0 and matcher._guarded(command)
        allowed = not guarded and not (asked and "Get" not in command.intent)
        found[sentence] = {"sentence": sentence, "likeness": score, "allowed": allowed}
    return sorted(found.values(), key=lambda c: -c["likeness"])[:SCORED]


def scores(model: Remembering, start: list[int], texts: list[str]) -> list[float]:
    """Each text's log-probability under the audio the model encoded last."""
    encoded = np.asarray(model.last)
    batch = ctranslate2.StorageView.from_array(
        np.ascontiguousarray(np.repeat(encoded, len(texts), axis=0))
    )
    tokenizer = model.hf_tokenizer
    tokens = [tokenizer.encode(text, add_special_tokens=False).ids for text in texts]
    results = model.model.align(batch, start, tokens, [encoded.shape[1]] * len(texts))
    return [float(np.log(np.maximum(r.text_token_probs, 1e-30)).sum()) for r in results]


def decode_all() -> list[dict[str, Any]]:
    """Every clip's transcript, the matcher's text, and the candidates scored by sound."""
    from faster_whisper.tokenizer import Tokenizer

    engine = SpeechToText(Settings(stt_cpu_threads=1, stt_home_commands=False))
    engine.set_vocabulary(vocabulary())
    model = Remembering(
        str(bundled_model_path()), device="cpu", compute_type="int8", cpu_threads=1
    )
    decoder, prompt = _Decoder(model, 1), engine.prompt or ""
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    start = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())]
    start += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    loose, shipped = HomeLanguage("en", alike=LOOSE), HomeLanguage("en")
    loose.set_names(HOME)
    shipped.set_names(HOME)
    rows = []
    for text in [*COMMANDS, *OTHER, *OTHER_TEXT]:
        for voice in ["piper", *available()]:
            for rate in RATES:
                raw = engine._decode(decoder, clip(voice, text, rate), "en").text
                near = candidates(loose, raw)
                ending = (
                    raw.rstrip()[-1:] if raw.rstrip()[-1:] in (".", "?", "!") else "."
                )
                styled = [
                    " " + c["sentence"][:1].upper() + c["sentence"][1:] + ending
                    for c in near
                ]
                started = time.perf_counter()
                sound = (
                    scores(model, start, [" " + raw.strip(), *styled]) if near else []
                )
                rows.append({
                    "sentence": text, "voice": voice, "rate": rate, "raw": raw,
                    "matched": shipped.hear(raw).text, "raw_score": sound[0] if sound else None,
                    "candidates": [c | {"score": s} for c, s in zip(near, sound[1:], strict=True)],
                    "scoring_seconds": time.perf_counter() - started if near else 0.0,
                })  # fmt: skip
    return rows


def pick(row: dict[str, Any], scorer: Scorer, delta: float, margin: float) -> str:
    """The matcher's text, or the candidate sound picks when the text is no command."""
    if scorer.acts(row["matched"]) is not None:
        return str(row["matched"])
    ranked = sorted(
        (c for c in row["candidates"] if c["allowed"]), key=lambda c: -c["score"]
    )
    if not ranked or ranked[0]["score"] < row["raw_score"] - delta:
        return str(row["matched"])
    if len(ranked) > 1 and ranked[0]["score"] - ranked[1]["score"] < margin:
        return str(row["matched"])
    return str(ranked[0]["sentence"])


def report(rows: list[dict[str, Any]]) -> None:
    """Print what the matcher misses, what its candidates could reach, and the picks."""
    scorer = Scorer(HOME, COMMANDS)
    tuning = {s for part in (COMMANDS, OTHER, OTHER_TEXT) for s in part[0::2]}
    for half in ("tuning", "held out"):
        chosen = [r for r in rows if (r["sentence"] in tuning) == (half == "tuning")]
        commands = [r for r in chosen if r["sentence"] in scorer.wanted]
        missed = [
            r for r in commands
            if scorer.reference.recognize(r["matched"]) != scorer.wanted[r["sentence"]]
        ]  # fmt: skip
        near = [r for r in missed if any(c["allowed"] for c in r["candidates"])]
        print(f"{half}: the matcher misses {len(missed)} of {len(commands)} commands;")
        print(
            f"  {len(near)} of them have a candidate it may pick (not a lock or cover)"
        )
        for delta in DELTAS:
            for margin in MARGINS:
                understood = sum(
                    scorer.reference.recognize(pick(r, scorer, delta, margin))
                    == scorer.wanted[r["sentence"]]
                    for r in commands
                )
                false = sum(
                    scorer.acts(pick(r, scorer, delta, margin)) is not None
                    for r in chosen
                    if r["sentence"] not in scorer.wanted
                )
                print(
                    f"  delta {delta:g}, margin {margin:g}: understood {understood}"
                    f"/{len(commands)}, false commands {false}/{len(chosen) - len(commands)}"
                )
    print(
        "what sound says of the missed commands' candidates (score - the transcript's):"
    )
    for r in rows:
        wanted = scorer.wanted.get(r["sentence"])
        if wanted is None or scorer.reference.recognize(r["matched"]) == wanted:
            continue
        for c in r["candidates"]:
            right = scorer.reference.recognize(c["sentence"]) == wanted
            print(
                f"  {r['raw']!r} ({r['voice']}@{r['rate']}): {c['sentence']!r}"
                f" {'right' if right else 'wrong'}, {c['score'] - r['raw_score']:+.1f}"
                f"{'' if c['allowed'] else ' (a lock or cover: never corrected)'}"
            )
    timed = [r["scoring_seconds"] for r in rows if r["candidates"]]
    print(
        f"scored {len(timed)} clips; scoring p50 {statistics.median(timed) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=Path, help="score a saved run again")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "home_by_sound.json"
    )
    args = parser.parse_args()
    if args.results:
        rows = json.loads(args.results.read_text())
    else:
        rows = decode_all()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=0, ensure_ascii=False))
    report(rows)


if __name__ == "__main__":
    main()
