"""The bridge's id and its capability document: what it registers on the bus."""

from __future__ import annotations

import re
import socket
from typing import Any

from wyoming_services import __version__
from wyoming_services.engines import Engines
from wyoming_services.settings import Settings


def default_bridge_id() -> str:
    """alicia-voice-<host name>, in the id alphabet."""
    host = re.sub(r"[^a-z0-9_-]+", "-", socket.gethostname().lower()).strip("-")
    return f"alicia-voice-{host}"[:64]


def registration(
    bridge_id: str, engines: Engines, settings: Settings, public_key: str
) -> dict[str, Any]:
    """The models really in use, the heartbeat interval and the bridge's key."""
    stt, tts, grok = engines.stt, engines.tts, engines.grok
    return {
        "device_id": bridge_id,
        "device_type": "service",
        "name": "Alicia voice services",
        "capabilities": [
            {
                "name": "stt",
                "version": "1.0.0",
                "parameters": {"model": stt.model_name, "languages": stt.languages},
            },
            {
                "name": "tts",
                "version": "1.0.0",
                "parameters": {"voices": list(tts.voices)},
            },
            {
                "name": "ai",
                "version": "1.0.0",
                "parameters": {"model": grok.model, "languages": grok.languages},
            },
        ],
        "metadata": {
            "manufacturer": "Alicia",
            "model": "Voice services",
            "version": __version__,
        },
        "heartbeat_interval": settings.bridge_heartbeat_interval,
        "public_key": public_key,
    }
