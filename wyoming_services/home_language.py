"""The home's command language: HA's own sentence templates over the home's names.

Home commands form a closed language: Home Assistant's intent templates (the
`home-assistant-intents` data, matched with `hassil`, as HA's own agent does) over
the names, areas and floors the integration publishes. A transcript that is a
sentence of that language is left as it is; one that becomes a sentence of it when
one misheard name is replaced by a known name that sounds clearly closest than any
other is corrected; everything else (a question for the agent) is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
import itertools
import logging
import re
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from alicia_bus.vocabulary import Vocabulary

_LOGGER = logging.getLogger(__name__)
# How alike a heard span and a known name (or word) must be (1 - edits / longer
# length), and by how much the best correction must beat the next (a tie is never
# chosen): chosen on the tuning half of bench/home_commands.py, where no speech that
# is not a command was rewritten (docs/benchmarks.md has the held-out figures).
ALIKE = 0.55
MARGIN = 0.0
MAX_SPAN_WORDS = 4
# What guards the house: a correction never makes a command for these; it must be
# heard as said ("unlocked the front door?" is a question, not "unlock ...").
GUARDED = frozenset({"alarm_control_panel", "cover", "lock", "valve"})
# Edits tried alone, and the best of them tried in pairs (bounded work per transcript).
MAX_EDITS = 16
MAX_PAIRED = 8
_WORDS = re.compile(r"[\w']+")
_REFERENCES = re.compile(r"\{[^}]*\}|<[^>]*>")


@dataclass(frozen=True, slots=True)
class HomeNames:
    """What the home's sentences may name: entities (with their domain), areas, floors."""

    entities: tuple[tuple[str, str], ...] = ()
    areas: tuple[str, ...] = ()
    floors: tuple[str, ...] = ()

    @classmethod
    def of(cls, vocabulary: Vocabulary) -> HomeNames:
        """What HA's vocabulary says the home's sentences may name."""
        return cls(vocabulary.entities, vocabulary.areas, vocabulary.floors)

    def __bool__(self) -> bool:
        """Whether there is anything to name."""
        return bool(self.entities or self.areas or self.floors)


@dataclass(frozen=True, slots=True)
class Edit:
    """Words start..end heard as text (a known name, or a word of HA's sentences)."""

    score: float
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Command:
    """A sentence of the home's language: HA's intent and the values it names."""

    intent: str
    slots: tuple[tuple[str, str], ...]
    # A slot that takes any words (a wildcard): the sentence proves little.
    open_ended: bool = False


@dataclass(frozen=True, slots=True)
class Heard:
    """A transcript as recognition leaves it: the text, and the command it is, if any."""

    text: str
    intent: str | None = None
    corrected: bool = False


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped (as hassil compares them)."""
    return _WORDS.findall(text.casefold())


@cache
def _templates(language: str) -> Any:
    """HA's intents for a language (parsed once per process), or None if it has none."""
    from hassil import Intents  # noqa: PLC0415 - only where commands are recognised
    from home_assistant_intents import get_intents  # noqa: PLC0415

    data = get_intents(language)
    return Intents.from_dict(data) if data else None


def warm(language: str) -> bool:
    """Load and compile language's templates now; whether it has any."""
    if _templates(language) is None:
        return False
    probe = HomeLanguage(language)
    probe.set_names(HomeNames((("lamp", "light"),), ("kitchen",), ("ground",)))
    probe.recognize("turn on the lamp in the kitchen")
    return True


class HomeLanguage:
    """Recognises and corrects home commands in one language."""

    def __init__(
        self, language: str, *, alike: float = ALIKE, margin: float = MARGIN
    ) -> None:
        """Nothing is loaded until the first use (or warm(language))."""
        self.language = language
        self.alike = alike
        self.margin = margin
        self._names = HomeNames()
        self._slots: dict[str, Any] = {}
        self._known: list[tuple[str, str]] = []
        self._domains: dict[str, str] = {}

    def set_names(self, names: HomeNames) -> None:
        """The names the home's sentences may use from now on."""
        from hassil.expression import TextChunk  # noqa: PLC0415
        from hassil.intents import TextSlotList, TextSlotValue  # noqa: PLC0415

        self._names = names
        entities = [
            TextSlotValue(TextChunk(name), name, context={"domain": domain})
            for name, domain in names.entities
        ]
        self._slots = {
            "name": TextSlotList(name="name", values=entities),
            "area": TextSlotList.from_strings(names.areas, name="area"),
            "floor": TextSlotList.from_strings(names.floors, name="floor"),
        }
        known = {
            " ".join(words(name)): name
            for name in (*(n for n, _ in names.entities), *names.areas, *names.floors)
        }
        self._known = [(key, name) for key, name in known.items() if key]
        self._domains = {name.casefold(): domain for name, domain in names.entities}

    def recognize(self, text: str) -> Command | None:
        """The command a sentence of the home's language is, else None."""
        templates = _templates(self.language)
        if templates is None or not self._slots:
            return None
        from hassil import recognize  # noqa: PLC0415
        from hassil.errors import HassilError  # noqa: PLC0415

        try:
            result = recognize(text, templates, slot_lists=self._slots)
        except HassilError:  # a template naming a list the home does not have
            return None
        if result is None:
            return None
        values = (
            (name, str(e.value).casefold()) for name, e in result.entities.items()
        )
        open_ended = any(e.is_wildcard for e in result.entities.values())
        return Command(str(result.intent.name), tuple(sorted(values)), open_ended)

    def hear(self, text: str) -> Heard:
        """The transcript, corrected only when that clearly makes it a home command."""
        if not text.strip() or not self._names:
            return Heard(text)
        if (command := self.recognize(text)) is not None:
            return Heard(text, command.intent)
        said = words(text)
        asked = text.rstrip().endswith("?")
        best: dict[str, tuple[float, str]] = {}
        for score, candidate in self._candidates(said):
            if candidate in best or (command := self.recognize(candidate)) is None:
                continue
            if command.open_ended:  # an edit that only fills a wildcard proves nothing
                continue
            if score < 1.0 and self._guarded(command):
                continue  # opening the house only on the words as they were heard
            if asked and "Get" not in command.intent:
                continue  # a question stays a question ("turned on the oven?")
            best[candidate] = (score, command.intent)
        if not best:
            return Heard(text)
        ranked = sorted(best.items(), key=lambda item: -item[1][0])
        (sentence, (score, intent)), rest = ranked[0], ranked[1:]
        if rest and score - rest[0][1][0] <= self.margin:
            _LOGGER.debug("%r: %r and %r sound alike", text, sentence, rest[0][0])
            return Heard(text)
        _LOGGER.debug("Heard %r as %r (%s, %.2f)", text, sentence, intent, score)
        ending = text.rstrip()[-1] if text.rstrip()[-1] in ".?!" else ""
        return Heard(sentence[:1].upper() + sentence[1:] + ending, intent, True)

    def _guarded(self, command: Command) -> bool:
        """Whether a command acts on what guards the house (a lock, a door, an alarm)."""
        slots = dict(command.slots)
        domain = slots.get("domain") or self._domains.get(slots.get("name", ""))
        return domain in GUARDED

    def _candidates(self, said: list[str]) -> list[tuple[float, str]]:
        """The words as heard (punctuation gone), then with one or two edits, best first.

        An edit puts a known name for a span of words that resembles it, or a word
        of HA's sentences for a word that resembles it ("turned" for "turn"); a pair
        of edits scores the product of their likenesses.
        """
        edits = self._edits(said)[:MAX_EDITS]
        found = [(1.0, " ".join(said))]
        found += [(edit.score, _apply(said, (edit,))) for edit in edits]
        for a, b in itertools.combinations(edits[:MAX_PAIRED], 2):
            if a.end <= b.start or b.end <= a.start:  # the spans do not overlap
                found.append((a.score * b.score, _apply(said, (a, b))))
        found.sort(key=lambda item: -item[0])
        return found

    def _edits(self, said: Sequence[str]) -> list[Edit]:
        """Spans of the words that resemble a known name, or a word of HA's sentences."""
        keys = [key for key, _ in self._known]
        vocabulary = _template_words(self.language)
        found: list[Edit] = []
        for start in range(len(said)):
            for end in range(start + 1, min(start + MAX_SPAN_WORDS, len(said)) + 1):
                span = " ".join(said[start:end])
                for key, score, index in process.extract(
                    span, keys, scorer=Levenshtein.normalized_similarity,
                    score_cutoff=self.alike, limit=None,
                ):  # fmt: skip
                    if key != span and _stands_for(said[start:end], key):
                        found.append(Edit(score, start, end, self._known[index][1]))
            # Also a word HA's sentences have: "turned" is one, and "turn" was meant.
            for known, score, _ in process.extract(
                said[start], vocabulary, scorer=Levenshtein.normalized_similarity,
                score_cutoff=self.alike, limit=3,
            ):  # fmt: skip
                if known != said[start]:
                    found.append(Edit(score, start, start + 1, known))
        found.sort(key=lambda edit: -edit.score)
        return found


def _stands_for(span: Sequence[str], key: str) -> bool:
    """Whether a name may replace these words: as many, or one more run together.

    A name never swallows a word ("the front door tonight" is not "the front
    door"); "nano leaf" may be "Nanoleaf".
    """
    names = key.split()
    if len(span) <= len(names):
        return True
    joined, name = "".join(span), "".join(names)
    return len(span) == len(names) + 1 and abs(len(joined) - len(name)) <= 1


def _apply(said: Sequence[str], edits: Iterable[Edit]) -> str:
    """The words with each edit's replacement put in, from the back."""
    result = list(said)
    for edit in sorted(edits, key=lambda edit: -edit.start):
        result[edit.start : edit.end] = [edit.text]
    return " ".join(result)


@cache
def _template_words(language: str) -> tuple[str, ...]:
    """The literal words of HA's sentences in language (not the lists they name)."""
    from home_assistant_intents import get_intents  # noqa: PLC0415

    data = get_intents(language) or {}
    texts: list[str] = list(data.get("expansion_rules", {}).values())
    for intent in data.get("intents", {}).values():
        for block in intent.get("data", []):
            texts.extend(block.get("sentences", []))
            texts.extend(block.get("expansion_rules", {}).values())
    found: set[str] = set()
    for template in texts:
        found.update(words(_REFERENCES.sub(" ", template)))
    return tuple(sorted(found))
