"""Home-control sentences for round-trip tests and benchmarks, and a word error rate."""

from __future__ import annotations

import re
import unicodedata

# (sentence, names that must be recognised)
SENTENCES: list[tuple[str, tuple[str, ...]]] = [
    ("Turn on the kitchen light.", ("kitchen",)),
    ("Turn off all the lights in the living room.", ("living room",)),
    ("Dim the bedroom lamp to 30 percent.", ("bedroom lamp",)),
    ("Set the thermostat to 21 degrees.", ("thermostat",)),
    ("What is the temperature in the garage?", ("garage",)),
    ("Open the garage door.", ("garage door",)),
    ("Close the blinds in the office.", ("office",)),
    ("Play some jazz in the kitchen.", ("kitchen",)),
    ("Pause the music.", ("music",)),
    ("Set a timer for 10 minutes.", ("timer",)),
    ("What time is it?", ()),
    ("Lock the front door.", ("front door",)),
    ("Is the back door locked?", ("back door",)),
    ("Turn the volume down in the living room.", ("living room",)),
    ("Start the vacuum cleaner.", ("vacuum",)),
    ("Turn on the fan in the bathroom.", ("bathroom",)),
    ("What is the weather like tomorrow?", ("weather",)),
    ("Switch off the porch light at midnight.", ("porch light",)),
]


def normalize(text: str) -> list[str]:
    """Lowercase words without accents or punctuation; digits kept as written."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("%", " percent").replace("-", " ")
    return re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "").split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, 1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (ref_word != hyp_word)),
            )
    return row[len(hyp)], len(ref)


# Entity and area names, as the integration publishes them on alicia/voice/stt/vocabulary.
VOCABULARY: tuple[str, ...] = (
    "kitchen light",
    "living room",
    "bedroom lamp",
    "thermostat",
    "garage door",
    "office blinds",
    "front door",
    "back door",
    "vacuum cleaner",
    "bathroom fan",
    "porch light",
)

# Names tiny.en gets wrong without help, and the vocabulary that names them.
HARD_NAMES: tuple[str, ...] = (
    "Zoë's bedroom lamp",
    "Aoife's study",
    "the Nanoleaf panels",
    "the Roborock",
    "the Shelly plug",
    "the Ecobee",
    "the Lutron dimmer",
)
HARD_SENTENCES: tuple[str, ...] = (
    "Turn on Zoë's bedroom lamp.",
    "Set Aoife's study to 20 degrees.",
    "Turn on the Nanoleaf panels.",
    "Start the Roborock.",
    "Turn off the Shelly plug.",
    "Set the Ecobee to heat.",
    "Dim the Lutron dimmer to 40 percent.",
)
