"""Constants for the Alicia integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "alicia"
DEFAULT_TOPIC_PREFIX: Final = "alicia"
