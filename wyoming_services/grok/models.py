"""Which of an API's models can chat, and which of them answers a voice fastest."""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Any

# Ids of models that make or read images, video or audio, or only embed: none of
# them streams a spoken answer. (Generic /models lists say nothing else about them.)
NOT_CHAT = re.compile(
    r"image|imagine|vision|video|embed|tts|speech|whisper|audio|transcri|"
    r"moderation|realtime|dall-e|rerank"
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model as an API lists it."""

    id: str
    created: int = 0
    aliases: tuple[str, ...] = ()
    # None when the listing does not say (a generic /models).
    output_modalities: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, item: Any) -> ModelInfo:
        """From a /models or /language-models entry (ValueError if it has no id)."""
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ValueError(f"a model entry without an id: {str(item)[:80]}")
        created = item.get("created")
        aliases = item.get("aliases")
        outputs = item.get("output_modalities")
        return cls(
            item["id"],
            created if isinstance(created, int) else 0,
            tuple(a for a in aliases if isinstance(a, str))
            if isinstance(aliases, list)
            else (),
            tuple(str(o) for o in outputs) if isinstance(outputs, list) else None,
        )

    @property
    def chats(self) -> bool:
        """Text out, and not a model named for images, audio or embeddings."""
        if self.output_modalities is not None and self.output_modalities != ("text",):
            return False
        return NOT_CHAT.search(self.id.lower()) is None

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a request may use for it."""
        return (self.id, *self.aliases)


def chat_models(models: list[ModelInfo]) -> list[ModelInfo]:
    """The models that can answer in text, in the order listed."""
    return [m for m in models if m.chats]


def choose(models: list[ModelInfo]) -> str | None:
    """The model a voice assistant should use when none is configured.

    Fast, non-reasoning models answer first (a reasoning model thinks for seconds
    before its first word); among equals, the newest.
    """
    candidates = chat_models(models)
    if not candidates:
        return None

    def rank(model: ModelInfo) -> tuple[bool, bool, int, str]:
        name = model.id.lower()
        return ("fast" in name and "non-reasoning" in name, "fast" in name,
                model.created, model.id)  # fmt: skip

    return max(candidates, key=rank).id


def offers(models: list[ModelInfo], name: str) -> bool:
    """Whether a request naming this model would find it (by id or alias)."""
    return any(name in m.names for m in models)
