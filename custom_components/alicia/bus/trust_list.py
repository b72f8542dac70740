"""alicia/system/security/trust: the approved device keys, the mode, and where each device is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ProtocolError
from .numbers import MAX_NUMBER, number
from .policy import Mode
from .text import plain
from .topics import is_identifier

# As long as an area's name is kept (HA sets no limit; a prompt line holds this much).
AREA_LENGTH = 100


def listed_areas(value: Any, devices: dict[str, str]) -> dict[str, str]:
    """Each listed device's area name; names of devices not in the list are left out."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError("invalid_field", "payload.areas: must be an object")
    areas: dict[str, str] = {}
    for device_id, name in value.items():
        if device_id not in devices or not isinstance(name, str):
            continue
        if shown := plain(name, AREA_LENGTH).strip():
            areas[device_id] = shown
    return areas


@dataclass(frozen=True, slots=True)
class TrustList:
    """What the hub signs for the bridges: mode, device id -> public key, device id -> area name."""

    mode: Mode | None
    devices: dict[str, str]
    areas: dict[str, str] = field(default_factory=dict)
    # Counts up with each list the hub signs (None: an older integration's): the
    # bridges order lists by it, not by a send time HA's clock may have put ahead.
    serial: int | None = None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> TrustList:
        """The payload as the hub signed it; ProtocolError when it is not one."""
        devices = payload.get("devices")
        if not isinstance(devices, dict) or not all(
            is_identifier(k) and isinstance(v, str) for k, v in devices.items()
        ):
            raise ProtocolError(
                "invalid_field", "payload.devices: must map device ids to keys"
            )
        mode = payload.get("mode")
        try:
            checked = None if mode is None else Mode(mode)
        except ValueError as err:
            raise ProtocolError(
                "invalid_field", "payload.mode: must be off, verify or enforce"
            ) from err
        serial = payload.get("serial")
        return cls(
            checked,
            dict(devices),
            listed_areas(payload.get("areas"), devices),
            None if serial is None else list_serial(serial, "payload.serial"),
        )

    def document(self) -> dict[str, Any]:
        """The payload to sign."""
        document: dict[str, Any] = {"devices": dict(self.devices)}
        if self.mode is not None:
            document["mode"] = str(self.mode)
        if self.areas:
            document["areas"] = dict(self.areas)
        if self.serial is not None:
            document["serial"] = self.serial
        return document


def list_serial(value: Any, path: str) -> int:
    """A trust list's serial: an integer from 0 to 2**53, or ProtocolError('invalid_field')."""
    what = "an integer from 0 to 2**53"
    return int(number(value, path, low=0, high=MAX_NUMBER, integer=True, what=what))
