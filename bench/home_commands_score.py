"""Scoring for bench/home_commands.py: what HA's templates read from each transcript, per voice."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tests.wyoming.phrases import normalize, word_errors
from wyoming_services.home_language import Command, HomeLanguage, HomeNames

# voice -> sentence -> transcript
type Heard = dict[str, dict[str, str]]


@dataclass(slots=True)
class Counts:
    """One voice's figures over a set of sentences."""

    commands: int = 0
    understood: int = 0
    other: int = 0
    # Other speech that HA's templates read as a command naming something (it would act).
    false_commands: int = 0
    # Other speech the matcher changed.
    rewritten: int = 0
    exact: int = 0
    word_errors: int = 0
    words: int = 0

    def add(self, other: Counts) -> None:
        """Sum other into this."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def wer(self) -> float:
        """Word error rate, in percent."""
        return 100 * self.word_errors / max(self.words, 1)


class Scorer:
    """Reads transcripts with HA's templates over one home's names."""

    def __init__(self, home: HomeNames, commands: list[str]) -> None:
        """The home, and which sentences are commands (every other is not)."""
        self.reference = HomeLanguage("en")
        self.reference.set_names(home)
        self.wanted = {c: self.reference.recognize(c) for c in commands}
        unknown = [c for c, command in self.wanted.items() if command is None]
        assert not unknown, f"HA's templates do not read these as commands: {unknown}"

    def acts(self, text: str) -> Command | None:
        """The command HA would carry out for text (a wildcard names nothing)."""
        command = self.reference.recognize(text)
        return command if command is not None and not command.open_ended else None

    def voice(
        self, texts: dict[str, str], sentences: list[str], home: HomeLanguage | None
    ) -> Counts:
        """One voice's counts; home is the matcher applied as the server applies it."""
        counts = Counts()
        for sentence in sentences:
            raw = texts[sentence]
            final = home.hear(raw).text if home is not None else raw
            counts.exact += normalize(final) == normalize(sentence)
            errors, words = word_errors(sentence, final)
            counts.word_errors += errors
            counts.words += words
            if sentence not in self.wanted:
                counts.other += 1
                counts.rewritten += final != raw
                counts.false_commands += self.acts(final) is not None
                continue
            counts.commands += 1
            counts.understood += (
                self.reference.recognize(final) == self.wanted[sentence]
            )
        return counts

    def voices(
        self, heard: Heard, sentences: list[str], home: HomeLanguage | None
    ) -> dict[str, Counts]:
        """Counts per voice."""
        return {v: self.voice(texts, sentences, home) for v, texts in heard.items()}


def total(per_voice: dict[str, Counts]) -> Counts:
    """All voices together."""
    summed = Counts()
    for counts in per_voice.values():
        summed.add(counts)
    return summed


def rewrites(home: HomeLanguage, sentences: list[str]) -> int:
    """How many of these sentences (no commands), as text, the matcher changes."""
    return sum(home.hear(sentence).text != sentence for sentence in sentences)


def table(name: str, per_voice: dict[str, Counts]) -> list[str]:
    """Printed rows: one per voice, then all."""
    rows = []
    for voice, c in [*per_voice.items(), ("all", total(per_voice))]:
        rows.append(
            f"{name:<16}{voice:<18}{c.understood:>5}/{c.commands:<5}"
            f"{c.exact:>6}/{c.commands + c.other:<5}{c.wer:>7.1f}%"
            f"{c.false_commands:>6}/{c.other:<5}{c.rewritten:>6}"
        )
    return rows


HEADER = (
    f"{'held out':<16}{'voice':<18}{'understood':>11}{'exact':>12}{'WER':>8}"
    f"{'false commands':>15}{'rewritten':>10}"
)
