"""The typed config entry: its runtime data is the hub (its parts)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry

from .hub import AliciaHub

type AliciaConfigEntry = ConfigEntry[AliciaHub]
