"""When a speaker has finished: how much quiet to wait for, judged by what they said.

The server ends the utterance itself (Home Assistant then runs no VAD of its own),
with the decode of what was said already done during the quiet. A command that is
already complete ("turn on the kitchen light") ends after the shortest quiet; words
that plainly go on ("turn on the ...") wait long enough for a thinking pause; any
other sentence waits in between, a whole question a little less.
"""

from __future__ import annotations

from dataclasses import dataclass
import re

# Measured with the pause set (tests/wyoming/test_turn_end.py, bench/turn_end.py):
# people pause up to ~0.9 s inside a command while they look for a name.
COMPLETE_SECONDS = 0.3
# Longer than the longest such pause: a first half misheard as a sentence ("Open
# the ..." heard as "Open that.") must not end the turn either.
OPEN_SECONDS = 1.1
# A whole question (Whisper heard its rising end: "... of France?"): Home
# Assistant's own VAD default, the quiet users of its pipeline already know. Not
# shorter: half the first halves of paused questions are whole questions ("Is it
# going to rain?" ... "this weekend?"), and bench/turn_end.py clips 32 of 120 such
# pauses at 0.7 s, 48 at 0.5 s, 64 at 0.3 s.
QUESTION_SECONDS = 0.7
UNFINISHED_SECONDS = 1.5
# Words a finished sentence does not end on: articles, prepositions, conjunctions,
# possessives, and the verbs that need an object ("on" and "off" may end one:
# "turn the lights off").
_GOES_ON = frozenset(
    ("a", "an", "the", "to", "in", "into", "at", "of", "for", "from", "with", "by",
     "and", "or", "but", "my", "your", "our", "their", "his", "her", "its", "this",
     "these", "those", "set", "turn", "switch", "put", "is", "are", "what", "which")
)  # fmt: skip
_WORDS = re.compile(r"[\w']+")


@dataclass(frozen=True, slots=True)
class Said:
    """What the decode of the speech so far says: its text, and whether it is a command."""

    text: str
    command: bool = False


def quiet_needed(said: Said) -> float:
    """Seconds of quiet after the last loud audio before the turn is over."""
    if said.command:
        return COMPLETE_SECONDS
    text = said.text.strip()
    words = _WORDS.findall(text.casefold())
    if not words or text.endswith(("...", "…", ",", "-")) or words[-1] in _GOES_ON:
        return UNFINISHED_SECONDS
    if text.endswith("?") and len(words) >= 3:
        return QUESTION_SECONDS
    return OPEN_SECONDS
