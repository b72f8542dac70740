"""Home commands understood: the transcript as decoded, and through the home's command language.

Run: `bench/run_home_commands` (installs the peer into .bench/ first; about 15 minutes
on 2 cores), or `.venv/bin/python bench/home_commands.py --no-peer` for ours only.
Our server (real tiny.en, its default beam, the home's names as its vocabulary prompt,
home commands off so the raw transcripts are kept) and wyoming-faster-whisper (same model and beam,
the same names given as its `--initial-prompt`, for fairness) transcribe every
sentence below in five voices (the bundled Piper voice and four Debian ones,
tests/wyoming/voices.py), each at 16 kHz and at 8 kHz: home commands, and speech that
is no command (many sentences near one: "Close the deal before Friday").
Then, without the server, each of our transcripts goes through
wyoming_services.home_language as the server would apply it. A command counts as
understood when HA's own templates read the same intent and the same names from it
as from the sentence that was spoken (what HA's agent then does); other speech that
HA's templates read as a command naming something is a false command.

The sentences are split in two by position: the matcher's two numbers (ALIKE,
MARGIN) are chosen on the tuning half only, and every figure reported is on the
held-out half, per voice.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from dataclasses import asdict
import itertools
import json
from pathlib import Path
import sys
import tempfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.home_commands_score import HEADER, Heard, Scorer, rewrites, table, total
from bench.voice import OURS_STT, Server, peer_stt_command, start, wait_for_describe
from tests.wyoming.client import synthesize, transcribe
from tests.wyoming.clips import as_format, trimmed
from tests.wyoming.voices import available, speak
from wyoming_services.home_language import ALIKE, MARGIN, HomeLanguage, HomeNames
from wyoming_services.settings import Settings
from wyoming_services.vocabulary_prompt import fit_prompt, token_counter
from wyoming_services.whisper_model import bundled_model_path

HOME = HomeNames(
    entities=(
        ("Nanoleaf panels", "light"), ("Zoë's bedroom lamp", "light"),
        ("Lutron dimmer", "light"), ("ceiling light", "light"), ("porch light", "light"),
        ("Hue strip", "light"), ("desk lamp", "light"), ("Shelly plug", "switch"),
        ("coffee maker", "switch"), ("Christmas tree", "switch"),
        ("front door", "lock"), ("back door", "lock"), ("garage door", "cover"),
        ("office blinds", "cover"), ("living room curtains", "cover"),
        ("Roborock", "vacuum"), ("Ecobee", "climate"), ("thermostat", "climate"),
        ("Sonos", "media_player"), ("kitchen speaker", "media_player"),
        ("bathroom fan", "fan"), ("Dyson", "fan"),
        ("outdoor temperature", "sensor"), ("humidity", "sensor"),
    ),
    areas=("Kitchen", "Living Room", "Bedroom", "Office", "Garage", "Bathroom",
           "Hallway", "Aoife's study", "Nursery", "Patio"),
    floors=("Upstairs", "Downstairs"),
)  # fmt: skip
COMMANDS = [
    "Turn on the Nanoleaf panels.", "Turn off Zoë's bedroom lamp.",
    "Turn on the Lutron dimmer.", "Turn off the porch light.", "Turn on the Hue strip.",
    "Turn off the desk lamp.", "Turn on the Shelly plug.", "Turn off the coffee maker.",
    "Turn on the Christmas tree.", "Lock the front door.", "Unlock the back door.",
    "Open the garage door.", "Close the office blinds.", "Open the living room curtains.",
    "Start the Roborock.", "Set the Ecobee to 21 degrees.",
    "Set the thermostat to 19 degrees.", "Pause the Sonos.", "Turn on the bathroom fan.",
    "Turn off the Dyson.", "Turn on the lights in the nursery.",
    "Turn off the lights in Aoife's study.", "Turn on the lights in the hallway.",
    "Turn off the lights on the patio.", "Turn off the lights upstairs.",
    "Turn on the lights downstairs.", "What is the temperature in the bedroom?",
    "Set the desk lamp brightness to 40 percent.", "Is the front door locked?",
    "What is the humidity?", "Turn off the kitchen speaker.", "Close the garage door.",
]  # fmt: skip
OTHER = [
    "Tell me a joke.", "Who wrote the book Dune?", "What is the weather like tomorrow?",
    "How far away is the moon?", "Remind me to call my mother.",
    "I left my keys in the car.", "What should I cook for dinner?",
    "The garden looks lovely today.", "Tell me about the Roman empire.",
    "Where did I park the car?",
]  # fmt: skip
# What satellites send, and a telephone-quality line.
RATES = (16000, 8000)
# Said to an assistant but no home command, many near one: checked as text (a perfect
# transcript), where a matcher that rewrites too eagerly shows at once.
OTHER_TEXT = [
    "I turned off the TV before bed.", "Set the table for six people.",
    "Open a new shopping list.", "Turn the page.", "Start a new paragraph.",
    "Lock screen settings are confusing.", "Close your eyes and relax.",
    "The front door of the museum was closed.", "My bedroom lamp broke yesterday.",
    "The thermostat in the office is old.", "Pause for a moment and think.",
    "What is the capital of France?", "How do I make pancakes?",
    "Tell me a story about a dragon.", "What's the score of the game?",
    "Who is the president of Finland?", "Translate hello into Spanish.",
    "How many calories are in an apple?", "Why is the sky blue?",
    "Play rock paper scissors with me.", "Remind me why we moved here.",
    "The kitchen needs a new coat of paint.", "Turn around and look behind you.",
    "Switch places with me.", "The light in the painting is beautiful.",
    "Set your mind at ease.", "Open the conversation with a joke.",
    "I need to lock in a good price.", "Start thinking about the holidays.",
    "Close the deal before Friday.", "What does the word thermostat mean?",
    "The garage smells like oil.", "My neighbour has a Dyson vacuum.",
    "Living room furniture is expensive.", "How old is the Roborock company?",
    "The lights of the city are bright.", "Turn left at the next corner.",
    "Set a good example for the kids.", "Is it going to rain today?",
    "Spell the word necessary.", "What's seven times eight?",
    "I love the smell of coffee in the morning.", "Do you know any good books?",
    "Turn up the heat in the story.", "Open your heart.",
    "Start the engine of the car.", "Lock the answer in.", "What is the humidity of Mars?",
    "The Christmas tree market opens tomorrow.", "My office is too small.",
]  # fmt: skip
GRID_ALIKE = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
GRID_MARGIN = (0.0, 0.04, 0.08, 0.12)


def vocabulary() -> list[str]:
    """The phrases as the integration ranks them: areas and floors, then the names."""
    return [*HOME.areas, *HOME.floors, *(name for name, _ in HOME.entities)]


def prompt() -> str:
    """The vocabulary prompt our server makes of the home's names (given to the peer too)."""
    fitted = fit_prompt(vocabulary(), token_counter(bundled_model_path()))
    assert fitted is not None
    return fitted


async def transcripts(voices: list[str], peers: Path | None) -> dict[str, Heard]:
    """server -> voice -> sentence -> what it heard (our home commands off)."""
    tmp = Path(tempfile.mkdtemp(prefix="alicia-bench-home-"))
    names = ",".join(vocabulary())
    # Both at the beam our server uses by default (the peer's own default on x86).
    beam = str(Settings().stt_beam_size)
    argv = [*OURS_STT, "--stt-beam-size", beam, "--no-stt-home-commands",
            "--stt-vocabulary", names]  # fmt: skip
    servers = [start("ours", argv, tmp / "ours.sock", tmp / "ours.log")]
    if peers is not None:
        peer = [*peer_stt_command(peers, tmp), "--beam-size", beam,
                "--initial-prompt", prompt()]  # fmt: skip
        servers.append(start("peer", peer, tmp / "peer.sock", tmp / "peer.log"))
    heard: dict[str, Heard] = {s.name: defaultdict(dict) for s in servers}
    try:
        for server in servers:
            await wait_for_describe(server)
        for text in [*COMMANDS, *OTHER, *OTHER_TEXT]:
            for voice, pcm, rate in await clips(servers[0], voices, text):
                for server in servers:
                    event, _, _ = await transcribe(server.uri, pcm, rate)
                    heard[server.name][voice][text] = str(event.data.get("text", ""))
    finally:
        for server in servers:
            server.stop()
    return heard


async def clips(
    ours: Server, voices: list[str], text: str
) -> list[tuple[str, bytes, int]]:
    """The sentence in every voice and rate, trimmed of silence: (voice@rate, PCM, rate)."""
    spoken = await synthesize(ours.uri, text)
    clips = {"piper": (trimmed(spoken.pcm), spoken.rate)}
    for voice in voices:
        pcm, rate = await asyncio.to_thread(speak, voice, text)
        clips[voice] = (trimmed(pcm), rate)
    return [
        (f"{voice}@{rate // 1000}k", as_format(audio, voice_rate, rate, 1), rate)
        for voice, (audio, voice_rate) in clips.items()
        for rate in RATES
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "home_commands.json"
    )
    parser.add_argument(
        "--transcripts",
        type=Path,
        help="score the transcripts of an earlier run's results instead of decoding",
    )
    parser.add_argument("--peers", type=Path, default=ROOT / ".bench")
    parser.add_argument("--no-peer", action="store_true", help="our server only")
    args = parser.parse_args()
    scorer = Scorer(HOME, COMMANDS)
    split = [COMMANDS, OTHER, OTHER_TEXT]
    tuning = [s for part in split for s in part[0::2]]
    held_out = [s for part in split for s in part[1::2]]
    if args.transcripts:
        heard = json.loads(args.transcripts.read_text())["transcripts"]
    else:
        peers = None if args.no_peer else args.peers
        heard = asyncio.run(transcripts(available(), peers))

    def matcher(alike: float, margin: float) -> HomeLanguage:
        home = HomeLanguage("en", alike=alike, margin=margin)
        home.set_names(HOME)
        return home

    # Chosen on the tuning half: no other speech rewritten (heard, or as text), then
    # the most commands understood, then the strictest likeness.
    grid = []
    for alike, margin in itertools.product(GRID_ALIKE, GRID_MARGIN):
        home = matcher(alike, margin)
        tuned = total(scorer.voices(heard["ours"], tuning, home))
        rewritten = tuned.rewritten + rewrites(home, OTHER_TEXT[0::2])
        grid.append((rewritten, -tuned.understood, -alike, margin))
    _, _, strictest, best_margin = min(grid)
    best_alike = -strictest
    held = {
        "ours, raw": scorer.voices(heard["ours"], held_out, None),
        "ours": scorer.voices(heard["ours"], held_out, matcher(ALIKE, MARGIN)),
        "ours, retuned": scorer.voices(
            heard["ours"], held_out, matcher(best_alike, best_margin)
        ),
    }
    if "peer" in heard:
        held["peer"] = scorer.voices(heard["peer"], held_out, None)
    report = {
        "chosen_on_tuning_half": {"alike": best_alike, "margin": best_margin},
        "shipped": {"alike": ALIKE, "margin": MARGIN},
        "held_out": {
            name: {voice: asdict(c) for voice, c in per_voice.items()}
            for name, per_voice in held.items()
        },
        "text_rewritten_held_out": rewrites(matcher(ALIKE, MARGIN), OTHER_TEXT[1::2]),
        "transcripts": heard,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"chosen on the tuning half: alike {best_alike}, margin {best_margin}")
    print(
        f"other sentences as text, held out, rewritten: {report['text_rewritten_held_out']}"
    )
    print(HEADER)
    for name, per_voice in held.items():
        print("\n".join(table(name, per_voice)))


if __name__ == "__main__":
    main()
