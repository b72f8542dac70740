"""The bridge between the MQTT broker and the alicia bus's voice topics (docs/protocol.md)."""

from .registration import default_bridge_id
from .service import Bridge

__all__ = ["Bridge", "default_bridge_id"]
