"""Constants for the Alicia integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "alicia"
DEFAULT_TOPIC_PREFIX: Final = "alicia"

CONF_TOPIC_PREFIX: Final = "topic_prefix"
CONF_HEARTBEAT_FACTOR: Final = "heartbeat_factor"
CONF_APPROVAL: Final = "approval"
CONF_STALE_DAYS: Final = "stale_days"
APPROVAL_MANUAL: Final = "manual"
APPROVAL_AUTO: Final = "auto"
DEFAULT_HEARTBEAT_FACTOR: Final = 3.0
DEFAULT_STALE_DAYS: Final = 30

# Like Zigbee2MQTT's permit-join: how long "permit new devices" stays open.
PERMIT_SECONDS: Final = 254
MAX_PENDING: Final = 50
HEALTH_CHECK_SECONDS: Final = 5

SIGNAL_DEVICE_ADDED: Final = "alicia_device_added_{}"
SIGNAL_DEVICE_UPDATE: Final = "alicia_device_update_{}_{}"
SIGNAL_HUB_UPDATE: Final = "alicia_hub_update_{}"
# A device said it is online (it may have missed, or been fed old, retained state).
SIGNAL_DEVICE_ONLINE: Final = "alicia_device_online_{}"
CONF_ANNOUNCE_VOLUME: Final = "announce_volume"
CONF_ANNOUNCE_TTS: Final = "announce_tts"
CONF_ALLOWED_ACTIONS: Final = "allowed_actions"
CONF_SECURITY_MODE: Final = "security_mode"
