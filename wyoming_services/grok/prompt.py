"""The system prompt: the personality, what it may know, the language to answer in."""

from __future__ import annotations

from datetime import datetime
import json

from wyoming_services.settings import Settings

# Spoken, so: short, no markdown, lists or emoji.
DEFAULT_PERSONALITY = (
    "You are {name}, a voice assistant in a home. Your answers are spoken aloud by a "
    "speaker, so answer briefly and warmly, in one to three short sentences, in plain "
    "spoken language: no markdown, no lists, no emoji, no URLs. If you do not know, "
    "say so in one sentence."
)
# For a requester without the authority to act (an unknown device, a client Home
# Assistant does not vouch for): no home tools, and the model knows why.
NO_HOME = (
    "This request comes from a device or client that is not allowed to see or "
    "control the devices in this home. You cannot look up or change anything in the "
    "home for it: if asked to, say so in one short sentence, and never claim to "
    "have done it."
)


def where(area: str) -> str:
    """What the model is told of the requester's area (a name users wrote: quoted data)."""
    return (
        f"The person is speaking to a device in the area {json.dumps(area)}. When "
        "they name no area, device or entity, 'the lights', 'the heating' and the "
        "like mean those in that area."
    )


LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "nb": "Norwegian", "fi": "Finnish", "cs": "Czech", "ru": "Russian",
    "uk": "Ukrainian", "tr": "Turkish", "el": "Greek", "ja": "Japanese", "zh": "Chinese",
    "ko": "Korean", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "ga": "Irish",
}  # fmt: skip


def system_prompt(settings: Settings, language: str, tools: str = "") -> str:
    """The prompt for one answer; `tools` says what the offered tools are for."""
    name = settings.grok_personality_name
    prompt = (settings.grok_personality or DEFAULT_PERSONALITY).replace("{name}", name)
    lines = [prompt]
    if tools:
        lines.append(tools)
    if settings.grok_include_datetime:
        now = datetime.now().astimezone()
        lines.append(f"It is now {now:%A, %d %B %Y, %H:%M} ({now:%Z}).")
    if settings.grok_location_name:
        lines.append(f"The home is called {settings.grok_location_name}.")
    lines.append(f"Always answer in {LANGUAGE_NAMES.get(language, language)}.")
    return "\n".join(lines)
