"""Text for Piper in bounded pieces: sentences, clauses, then words, whatever the punctuation."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

# A sentence ends at . ! ? (or a line break) followed by white space.
# Also the CJK full stop and the full-width ! and ?.
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])[\"')\]]*\s+|\n+")
_RAW_PHONEMES = re.compile(r"\[(?=\[)")  # the "[" opening Piper's [[ phonemes ]]
# Clause boundaries where a long sentence may be cut for an earlier first audio.
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+(?=[-\u2013\u2014]\s)")
LONG_SENTENCE = 80  # characters; longer sentences are cut at clauses
MIN_PIECE = 25  # characters; shorter clauses are merged with the next
# Text is phonemized a piece at a time, a piece no longer than this.
MAX_PIECE = 80  # characters, cut at a word
# An answer's first words are heard sooner when its first sentence, if long, is
# spoken in two: Piper's time grows with the text, and a stream's first sentence
# need not be complete. Cut where speakers pause anyway: a clause, or before a word
# that opens a phrase ("... capital of France | for more than a thousand years").
FIRST_PHRASE = (20, 48)  # characters before the cut, at least and at most
_PHRASE_START = re.compile(
    r"(?<=[,;:])\s+|\s+(?=(?:and|but|or|so|because|when|while|which|where|since|after"
    r"|before|until|for|in|on|at|with|from|during)\s)",
    re.IGNORECASE,
)
# Piper's graph run whole holds every layer's output for its whole audio at once:
# measured with en_US-joe-medium, about 1 MiB a phoneme (100 characters of English
# 100 MiB at the peak, 320 characters ~600 MB, 4,000 characters 3.6 GB). Cut before
# its decoder (piper_graph) a run holds one window's memory, but a voice that
# cannot be cut runs whole: no run is longer than this, whatever the voice. The one
# rule whatever the text: English reads ~1.2 phonemes a character, digits and
# symbols more, a CJK character or an emoji ~15.
MAX_PHONEMES = 96  # phonemes, cut at a word


def split_sentences(text: str) -> tuple[list[str], str]:
    """Complete sentences of text, and the unfinished rest."""
    parts = _SENTENCE_END.split(text)
    complete = [p.strip() for p in parts[:-1] if p.strip()]
    return complete, parts[-1]


def first_phrase(text: str) -> int | None:
    """Where an answer's long first sentence may be cut for its first audio (None: nowhere)."""
    least, most = FIRST_PHRASE
    for boundary in _PHRASE_START.finditer(text, least, most + 1):
        if text[boundary.end() :].strip():
            return boundary.start()
    return None


def split_clauses(sentence: str) -> list[str]:
    """Cut a long sentence at clause boundaries into pieces of a useful length."""
    if len(sentence) <= LONG_SENTENCE:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for clause in _CLAUSE_END.split(sentence):
        current = f"{current} {clause}".strip() if current else clause.strip()
        if len(current) >= MIN_PIECE:
            pieces.append(current)
            current = ""
    if current:
        if pieces and len(current) < MIN_PIECE:
            pieces[-1] = f"{pieces[-1]} {current}"
        else:
            pieces.append(current)
    return pieces


def cut_words(text: str, limit: int = MAX_PIECE) -> list[str]:
    """Text in parts of at most limit characters, of even length, cut between words."""
    words = text.split()
    size = len(" ".join(words))
    if size <= limit:
        return [" ".join(words)] if words else []
    target = -(-size // -(-size // limit))  # size over the fewest parts, rounded up
    parts: list[str] = []
    current = ""
    for whole in words:
        word = whole
        while len(word) > limit:  # no space to cut at: cut the word itself
            if current:
                parts.append(current)
                current = ""
            parts.append(word[:limit])
            word = word[limit:]
        joined = f"{current} {word}" if current else word
        if current and len(joined) > target:
            parts.append(current)
            joined = word
        current = joined
    if current:
        parts.append(current)
    return parts


def pieces(sentence: str) -> list[str]:
    """What Piper gets of one sentence: its clauses, none longer than MAX_PIECE."""
    return [part for clause in split_clauses(sentence) for part in cut_words(clause)]


def without_raw_phonemes(text: str) -> str:
    """Text whose [[ ... ]] blocks Piper reads as words, not as raw phonemes."""
    # A client's "[[...]]" went to Piper unchecked, each character a phoneme: one
    # warning logged per character not in the voice (91,200 for one request).
    return _RAW_PHONEMES.sub("[ ", text)


def next_run(phonemes: list[str], limit: int) -> tuple[list[str], list[str]]:
    """The first run of at most limit phonemes, cut at a word where there is one; the rest."""
    if len(phonemes) <= limit:
        return phonemes, []
    space = next((i for i in range(limit, 0, -1) if phonemes[i] == " "), None)
    if space is None:
        return phonemes[:limit], phonemes[limit:]
    return phonemes[:space], phonemes[space + 1 :]


def cut_phonemes(phonemes: list[str], limit: int = MAX_PHONEMES) -> list[list[str]]:
    """One sentence's phonemes in runs of at most limit, cut at a word where there is one."""
    runs: list[list[str]] = []
    rest = phonemes
    while rest:
        run, rest = next_run(rest, limit)
        runs.append(run)
    return runs


class TtsError(Exception):
    """A request the TTS program refuses; the text is sent to the client."""


# Streamed text with no sentence end is held up to this long, then cut at a word.
_HELD_TEXT = 4 * LONG_SENTENCE
_WORD_END = re.compile(r"\s+\S*$")


class TextStream:
    """Text arriving in pieces, given out as complete sentences with bounded memory."""

    def __init__(self, max_chars: int) -> None:
        """Nothing buffered yet."""
        self._rest = ""
        self._max_chars = max_chars
        self.total_chars = 0
        self._given = False  # a first piece was given out

    def add(self, text: str) -> list[str]:
        """Add text; return the sentences it completed."""
        self.total_chars += len(text)
        if self.total_chars > self._max_chars:
            self._rest = ""  # refused: nothing of it is kept
            raise TtsError(
                f"text is longer than {self._max_chars} characters (tts_max_chars)"
            )
        sentences, rest = split_sentences(self._rest + text)
        if not self._given and (cut := _first_cut(sentences, rest)) is not None:
            # The first words go at once; the rest of their sentence follows.
            first = (sentences or [rest])[0]
            if sentences:
                sentences[:1] = [first[:cut].strip(), first[cut:].strip()]
            else:
                sentences, rest = [first[:cut].strip()], first[cut:].lstrip()
        if len(rest) > _HELD_TEXT:
            # No sentence end in sight: give out the whole words, keep the last one,
            # which may go on in the next chunk (unless it alone is too long).
            word = _WORD_END.search(rest)
            cut = (
                word.start()
                if word and len(rest) - word.start() <= MAX_PIECE
                else len(rest)
            )
            sentences.append(rest[:cut].strip())
            rest = rest[cut:]
        self._rest = rest
        self._given = self._given or bool(sentences)
        return sentences

    def finish(self) -> list[str]:
        """The rest, once no more text will come."""
        rest, self._rest = self._rest.strip(), ""
        if rest and not self._given and (cut := _first_cut([], rest)) is not None:
            self._given = True
            return [rest[:cut].strip(), rest[cut:].strip()]
        return [rest] if rest else []


def _first_cut(sentences: list[str], rest: str) -> int | None:
    """Where the first sentence (or the words so far) may be cut, if long enough to gain."""
    first = sentences[0] if sentences else rest
    return first_phrase(first) if len(first) > FIRST_PHRASE[1] else None


def known_phonemes(
    phonemized: list[list[str]], id_map: Mapping[str, Any]
) -> list[list[str]]:
    """The phonemes the voice has ids for; Piper logs a warning for each other one."""
    if not id_map:  # Piper's own map is used
        return phonemized
    return [[p for p in sentence if p in id_map] for sentence in phonemized]
