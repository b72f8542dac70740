"""Alicia's Wyoming voice server and MQTT bus bridge (no Home Assistant imports)."""

from __future__ import annotations

__version__ = "0.1.0"
