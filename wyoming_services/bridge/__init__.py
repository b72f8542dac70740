"""The bridge between the MQTT broker and the alicia bus's voice topics (docs/protocol.md)."""

from .service import Bridge, default_bridge_id

__all__ = ["Bridge", "default_bridge_id"]
