"""HA's own English command templates (home-assistant-intents, hassil) over a home's names, as a PocketSphinx FSG.

Every template is written out with its lists left as placeholders ("turn on [the]
{name} in {area}" becomes "turn on the <name> in <area>", "turn on <name> in
<area>", ...; words glued from parts, "blind" + "s", come out whole); templates
with a wildcard list (a message, a timer's name) are left out, a permutation keeps
its written order. The word sequences are merged into a minimal automaton (equal
futures share a state) and each placeholder becomes the words of its values: the
home's names, areas and floors, numbers 0-100 in words, the templates' own lists.
A sentence with a word the pronouncing dictionary lacks is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
import re
from typing import Any

from hassil import Intents
from hassil.expression import (
    Alternative,
    Expression,
    Group,
    ListReference,
    RuleReference,
    TextChunk,
)
from hassil.intents import RangeSlotList, TextSlotList, WildcardSlotList
from home_assistant_intents import get_intents

# More variants than this in one part of a template: the template is left out.
MOST = 5000
# Numbers as said (bench/home_grammar.py's outline and its reading use them too).
UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen"]
TEENS += ["sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


class _Skip(Exception):
    """A template this grammar cannot hold."""


def number_words() -> list[str]:
    """0-100 as said."""
    said = ["zero", *UNITS, *TEENS]
    for ten in TENS:
        said += [ten, *(f"{ten} {unit}" for unit in UNITS)]
    return [*said, "one hundred"]


def words(text: str) -> list[str]:
    """Lowercase words of a template's text ("%" said as "percent")."""
    text = text.lower().replace("%", " percent ").replace("-", " ")
    return re.sub(r"[^a-z' <>_]", " ", text).split()


class Templates:
    """HA's English templates written out, placeholders for their lists."""

    def __init__(self) -> None:
        """Parse home-assistant-intents' English data."""
        data = get_intents("en")
        assert data is not None, "home-assistant-intents has no English"
        self.intents = Intents.from_dict(data)

    def expand(self, expression: Expression) -> set[str]:
        """Every text of an expression, lists as " <list> "."""
        if isinstance(expression, TextChunk):
            return {expression.text}
        if isinstance(expression, ListReference):
            found = self.intents.slot_lists.get(expression.list_name)
            if isinstance(found, WildcardSlotList):
                raise _Skip
            if isinstance(found, RangeSlotList):
                return {" <number> "}
            return {f" <{expression.list_name}> "}
        if isinstance(expression, RuleReference):
            rule = self.intents.expansion_rules[expression.rule_name]
            return self.expand(rule.expression)
        if isinstance(expression, Alternative):
            out: set[str] = set()
            for item in expression.items:
                out |= self.expand(item)
            return out | ({""} if expression.is_optional else set())
        if isinstance(expression, Group):  # a sequence (a permutation as written)
            made = {""}
            for item in expression.items:
                made = {a + b for a in made for b in self.expand(item)}
                if len(made) > MOST:
                    raise _Skip
            return made
        raise _Skip

    def sentences(self) -> set[tuple[str, ...]]:
        """Every template written out, as words."""
        found: set[tuple[str, ...]] = set()
        for intent in self.intents.intents.values():
            for data in intent.data:
                for sentence in data.sentences:
                    try:
                        found |= {
                            tuple(words(text))
                            for text in self.expand(sentence.expression)
                        }
                    except _Skip:
                        continue
        return {s for s in found if s}

    def list_values(self, name: str) -> list[str]:
        """The texts of one of the templates' own lists."""
        found = self.intents.slot_lists.get(name)
        if not isinstance(found, TextSlotList):
            return []
        texts: set[str] = set()
        for value in found.values:
            said: Any = value.text_in
            made = self.expand(said) if isinstance(said, Expression) else {str(said)}
            texts |= {" ".join(words(t)) for t in made}
        return sorted(t for t in texts if t)


def fsg(
    sentences: Iterable[tuple[str, ...]],
    lists: dict[str, list[str]],
    known: set[str],
) -> str:
    """A minimal automaton of the sentences, placeholders expanded, in PocketSphinx's FSG format."""
    values = {
        f"<{name}>": [v.split() for v in said if all(w in known for w in v.split())]
        for name, said in lists.items()
    }
    kept = [
        s
        for s in sentences
        if all((w in values and values[w]) or w in known for w in s)
    ]
    # Minimal automaton: a state per distinct set of futures (suffixes), bottom up.
    ids: dict[Any, int] = {}
    edges: list[tuple[int, int, str]] = []
    final = ids.setdefault(("final",), 0)

    def state(futures: frozenset[tuple[str, ...]]) -> int:
        if futures in ids:
            return ids[futures]
        by_word: dict[str, set[tuple[str, ...]]] = {}
        ends = False
        for future in futures:
            if not future:
                ends = True
                continue
            by_word.setdefault(future[0], set()).add(future[1:])
        number = ids[futures] = len(ids)
        if ends:
            edges.append((number, final, ""))
        for word, rest in by_word.items():
            edges.append((number, state(frozenset(rest)), word))
        return number

    start = state(frozenset(kept))
    lines, count = [], len(ids)
    for source, target, word in edges:
        if word in values:  # each value a chain of its words
            for value in values[word]:
                at = source
                for index, part in enumerate(value):
                    to = target if index == len(value) - 1 else count
                    count += index != len(value) - 1
                    lines.append(f"TRANSITION {at} {to} 1.0 {part}")
                    at = to
        else:
            lines.append(f"TRANSITION {source} {target} 1.0 {word}".rstrip())
    return "\n".join(
        ["FSG_BEGIN home", f"NUM_STATES {count}", f"START_STATE {start}",
         f"FINAL_STATE {final}", *lines, "FSG_END", ""]
    )  # fmt: skip
