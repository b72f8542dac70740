"""The fields of the events the server acts on, read by type: a wrong one is refused by name."""

from __future__ import annotations

import re
from typing import Any

from wyoming.event import Event

from alicia_bus.text import excerpt

# BCP 47 asks implementations to handle tags of 35 characters; Piper's and
# Whisper's codes are a few characters.
LANGUAGE_CHARS = 35
NAME_CHARS = 64  # a voice, speaker or model name
# Control characters (but tab and line breaks) and lone surrogates: espeak-ng takes
# neither (a NUL or a surrogate raised in the phonemizer), and no speech needs them.
_UNSPEAKABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class FieldError(ValueError):
    """A field of a known event is missing or of the wrong type; the text names it."""


class Fields:
    """One event's data, each field read as the type Wyoming gives it."""

    def __init__(self, kind: str, data: dict[str, Any], within: str = "") -> None:
        """The fields of an event of this kind (within: the object they sit in)."""
        self.kind = kind
        self.data = data
        self._within = within

    @classmethod
    def of(cls, event: Event) -> Fields:
        """The fields of an event."""
        return cls(event.type, event.data or {})

    def _wrong(self, name: str, wanted: str) -> FieldError:
        field = f"{self.kind}: {self._within}{name}"
        if name not in self.data:
            return FieldError(f"{field} is missing (it must be {wanted})")
        return FieldError(f"{field} must be {wanted}, not {excerpt(self.data[name])}")

    def whole(self, name: str) -> int:
        """A required whole number (not a float, not a boolean)."""
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(name, "a whole number")
        return value

    def optional_whole(self, name: str) -> int | None:
        """A whole number or nothing."""
        return None if self.data.get(name) is None else self.whole(name)

    def text(self, name: str, limit: int | None = None) -> str:
        """Required text without control characters (empty allowed), of at most limit if given."""
        value = self.data.get(name)
        if limit is not None and (not isinstance(value, str) or len(value) > limit):
            raise self._wrong(name, f"text of at most {limit} characters")
        if not isinstance(value, str):
            raise self._wrong(name, "text")
        if found := _UNSPEAKABLE.search(value):
            raise FieldError(
                f"{self.kind}: {self._within}{name} must be text without control "
                f"characters or lone surrogates (U+{ord(found[0]):04X} at character "
                f"{found.start() + 1})"
            )
        return value

    def name(self, name: str, limit: int = NAME_CHARS) -> str | None:
        """Absent, null, or non-empty text of at most limit characters."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value or len(value) > limit:
            raise self._wrong(name, f"text of 1 to {limit} characters")
        return value

    def names(self, name: str, most: int) -> list[str] | None:
        """Absent, null, or a list of at most `most` names."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > most:
            raise self._wrong(name, f"a list of at most {most} names")
        inner = Fields(
            self.kind, {str(i): item for i, item in enumerate(value)}, f"{name}."
        )
        names = [inner.name(str(i)) for i in range(len(value))]
        if None in names:
            raise self._wrong(name, f"a list of at most {most} names")
        return [item for item in names if item is not None]

    def language(self) -> str | None:
        """An optional language code."""
        return self.name("language", LANGUAGE_CHARS)

    def flag(self, name: str) -> bool:
        """An optional true or false; absent is false."""
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            raise self._wrong(name, "true or false")
        return value

    def mapping(self, name: str) -> dict[str, Any]:
        """An optional object; absent is empty."""
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._wrong(name, "an object")
        return value

    def voice(self) -> tuple[str | None, str | None]:
        """The voice asked for: (name, speaker), either absent."""
        inner = Fields(self.kind, self.mapping("voice"), "voice.")
        inner.name("language", LANGUAGE_CHARS)  # checked, though voices go by name
        return inner.name("name"), inner.name("speaker")

    def conversation(self) -> str | None:
        """The conversation id of the context, if any."""
        context = Fields(self.kind, self.mapping("context"), "context.")
        return context.name("conversation_id", 256)
