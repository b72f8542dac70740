"""What approval remembers of a device besides its record: how new its word is, and what it had.

Both are bounded: send times by the devices approved or waiting, what a device that
left had by MAX_TOMBSTONES.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from .bus.send_times import from_the_future, in_force, not_ahead
from .device import DeviceRecord

# Devices that unregistered themselves, remembered (newest kept) to judge their return.
MAX_TOMBSTONES = 1000


class Newest:
    """The send time of the newest registration taken of each device, and the key that signed it.

    A registration signed by that key and sent before it is an old one replayed
    (retained messages skip the replay window): it is ignored. Only the key's
    holder sets the time, so a stranger cannot date one ahead to silence a device.
    """

    def __init__(self) -> None:
        """Nothing seen yet."""
        self.sent: dict[str, tuple[datetime, str]] = {}

    def is_old(self, device_id: str, key: str | None, sent: datetime) -> bool:
        """Whether a registration signed by key was sent before the newest one it signed."""
        newest = self.sent.get(device_id)
        return (
            key is not None
            and newest is not None
            and newest[1] == key
            and (sent < in_force(newest[0]) or from_the_future(sent))
        )

    def took(self, device_id: str, key: str | None, sent: datetime) -> None:
        """A registration signed by key was taken (applied, or stored as a request)."""
        if key is None:
            self.sent.pop(device_id, None)
            return
        sent, newest = not_ahead(sent), self.sent.get(device_id)
        if newest is None or newest[1] != key or sent > in_force(newest[0]):
            self.sent[device_id] = (sent, key)

    def keep(self, device_ids: set[str]) -> None:
        """Forget the devices no longer approved, waiting or remembered as gone."""
        for device_id in set(self.sent) - device_ids:
            del self.sent[device_id]


class Tombstones:
    """What devices that unregistered themselves had been granted, newest MAX_TOMBSTONES.

    An approved device could otherwise leave (its "more" card goes with it) and
    register again as new, asking for more: with auto-approval or the permit
    window open it would be approved without the user. Its return is judged
    against what it had; a device the user removed has no tombstone (the user decided).
    """

    def __init__(self) -> None:
        """Nobody left yet."""
        self.grants: OrderedDict[str, DeviceRecord] = OrderedDict()

    def left(self, grant: DeviceRecord) -> None:
        """A device unregistered itself (or through its hub): what the user had granted it."""
        document = {
            "device_id": grant.device_id,
            "device_type": grant.device_type,
            "capabilities": [{"name": c.name} for c in grant.capabilities],
            "via_device": grant.via_device,
            "public_key": grant.public_key,
        }
        self.grants.pop(grant.device_id, None)
        self.grants[grant.device_id] = DeviceRecord.from_document(document)
        while len(self.grants) > MAX_TOMBSTONES:
            self.grants.popitem(last=False)

    def get(self, device_id: str) -> DeviceRecord | None:
        """What a device that left had been granted, if it left by itself."""
        return self.grants.get(device_id)

    def forget(self, device_id: str) -> None:
        """It is approved again, or the user removed it."""
        self.grants.pop(device_id, None)

    def stored(self) -> list[DeviceRecord]:
        """As stored, oldest first."""
        return list(self.grants.values())

    def load(self, stored: list[DeviceRecord]) -> None:
        """What stored() gave."""
        for record in stored[-MAX_TOMBSTONES:]:
            self.grants[record.device_id] = record
