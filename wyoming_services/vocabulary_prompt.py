"""The names people say, fitted into the part of Whisper's prompt the model keeps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
import re

# faster-whisper keeps only the last max_length // 2 - 1 tokens of a prompt (448 on
# every Whisper model): a longer list loses its first names without a word said.
PROMPT_TOKENS = 223
_WORD = re.compile(r"\w+")
_PARTS = re.compile(r"[,.;:!?]")

type TokenCount = Callable[[str], int]


def fit_prompt(
    phrases: Sequence[str], count: TokenCount, budget: int = PROMPT_TOKENS
) -> str | None:
    """The prompt for phrases ranked most important first, within budget tokens.

    A phrase is taken only if it brings a word the prompt does not have yet (the
    bias is on words: "Kitchen light" adds nothing after "Kitchen" and "Light"),
    and only if it still fits; a shorter one further down may. The most important
    are written last, nearest the audio, where a cut would reach them last.
    """
    chosen: list[str] = []
    words: set[str] = set()
    used = count(".")
    for phrase in phrases:
        if used + 2 > budget:
            break  # not even a one-token word and its comma would fit
        new = {word.casefold() for word in _WORD.findall(phrase)} - words
        if not new:
            continue
        # Words and punctuation are tokenized apart, so a phrase costs the same
        # wherever it stands in the list: counted once, plus its comma.
        cost = count(phrase) + (1 if chosen else 0)
        if used + cost > budget:
            continue
        chosen.append(phrase)
        words |= new
        used += cost
    while chosen and count(render(chosen)) > budget:
        chosen.pop()  # should the tokenizer join across a comma after all
    return render(chosen) if chosen else None


def render(chosen: Sequence[str]) -> str:
    """The prompt text for chosen phrases (most important first), as the model reads it."""
    return ", ".join(reversed(chosen)) + "."


def echoes_prompt(text: str, prompt: str | None) -> bool:
    """Whether a transcript is the prompt read back rather than speech.

    Whisper, given a list of names, sometimes writes names from it for sounds it
    cannot place ("Lock the answer in." came back as "Lutron dimmer,": a command
    nobody gave). Such a transcript is a list: two or more of its parts are the
    prompt's phrases, or it is one phrase left open by a comma. A name said alone
    ("Bedroom." when asked which room) is speech.
    """
    if not prompt:
        return False
    listed = {_key(phrase) for phrase in prompt.removesuffix(".").split(", ")}
    parts = [key for part in _PARTS.split(text) if (key := _key(part))]
    named = sum(part in listed for part in parts)
    if named >= 2:
        return True
    return named == len(parts) == 1 and text.rstrip().endswith(",")


def _key(text: str) -> str:
    return " ".join(word.casefold() for word in _WORD.findall(text))


def token_counter(model_dir: Path) -> TokenCount:
    """Tokens the model's own tokenizer makes of a prompt (with the space it adds)."""
    try:
        from tokenizers import Tokenizer  # noqa: PLC0415 - faster-whisper's, loaded on use

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    except Exception:  # tokenizers raises a plain Exception for a bad file
        # Whisper's English tokens average about four characters; three is safe.
        return lambda text: len(text) // 3 + 1
    return lambda text: len(
        tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids
    )
