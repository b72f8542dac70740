"""Random and mutated bus messages, the same for both sides' fuzz tests (seeded: reproducible)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import json
import random
from typing import Any

ODD_VALUES: list[Any] = [
    None, True, 0, -1, 2**70, 1e308, -0.0, "", "x" * 5000, "☕\u0000\ud7ff", [], {}, [[[]]],
    {"a": {"b": {"c": None}}}, "alicia/#", "../../etc", "NaN",
]  # fmt: skip


def _mutate(message: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    mutated: dict[str, Any] = json.loads(json.dumps(message))
    for _ in range(rng.randint(1, 3)):
        target = mutated if rng.random() < 0.5 else mutated.setdefault("payload", {})
        if not isinstance(target, dict) or not target:
            continue
        key = rng.choice(sorted(target))
        choice = rng.random()
        if choice < 0.3:
            del target[key]
        elif choice < 0.8:
            target[key] = rng.choice(ODD_VALUES)
        else:
            target[rng.choice(["extra", "security", "sig", key + "_"])] = rng.choice(
                ODD_VALUES
            )
    return mutated


def payloads(
    topics: list[str],
    examples: dict[str, dict[str, Any]],
    count: int,
    blank: Callable[[], dict[str, Any]],
    seed: int = 7,
) -> Iterator[tuple[str, bytes]]:
    """(topic, raw) pairs: random bytes, random JSON, and mutations of valid messages.

    blank() makes a fresh message for a topic without an example, by the caller's core.
    """
    rng = random.Random(seed)
    for _ in range(count):
        topic = rng.choice(topics)
        example = examples.get(topic) or blank()
        kind = rng.random()
        if kind < 0.15:
            raw = rng.randbytes(rng.randint(0, 300))
        elif kind < 0.3:
            raw = json.dumps(rng.choice(ODD_VALUES)).encode()
        elif kind < 0.45:
            text = json.dumps(example)
            cut = rng.randint(0, len(text))
            raw = (text[:cut] + chr(rng.randint(32, 0x2FF)) + text[cut + 1 :]).encode()
        elif kind < 0.5:
            raw = json.dumps(example).encode()[: rng.randint(0, 200)]
        else:
            raw = json.dumps(_mutate(example, rng), allow_nan=True).encode()
        yield topic, raw
