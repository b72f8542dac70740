"""What a registration may ask: who may register a device, and what asks the user again."""

from __future__ import annotations

from .bus.payloads import Registration
from .device import DeviceRecord


def not_behind(
    registration: Registration,
    source: str,
    approved: DeviceRecord | None,
    waiting: DeviceRecord | None,
    sender_approved: bool,
) -> str | None:
    """Why source may not register this device (not its own id) behind itself, or None.

    A device registers another only as its own child, one that is new or already
    behind it, and only once approved itself: its key speaks for the child, and a
    hub gone (its old registrations replayed) would leave a child nobody speaks for.
    Only the device itself proves a key, and a request the device made itself (or
    another hub made) is not the sender's to replace.
    """
    if not sender_approved:
        return "the sender is not an approved device"
    if approved is not None and approved.via_device != source:
        return "it is not behind the sender"
    if registration.via_device != source:
        return "the registration does not name the sender as via_device"
    if registration.public_key is not None:
        return "a device registered through another carries no key of its own"
    if waiting is not None and waiting.via_device != source:
        return "it waits for approval, not behind the sender"
    return None


def asks_for_more(approved: DeviceRecord, offered: DeviceRecord) -> str | None:
    """What an approved device's new registration asks beyond the approval, in words, or None.

    More is a capability it did not have, another device type, or another device to
    talk through: each gives it authority the user never saw. A capability's "type"
    is not compared: nothing reads it, and the card could not show the difference.
    """
    names = {c.name for c in approved.capabilities}
    added = [c.name for c in offered.capabilities if c.name not in names]
    more = [f"capabilities {', '.join(added)}"] if added else []
    if offered.device_type != approved.device_type:
        more.append(f"device type {offered.device_type}")
    if offered.via_device != approved.via_device:
        more.append(f"talking through {offered.via_device or 'nobody'}")
    return "; ".join(more) or None


def asks_beyond(had: DeviceRecord, offered: DeviceRecord) -> str | None:
    """What a device that left by itself asks beyond what it had when it returns, or None.

    Another key, or more (asks_for_more): the user decides, as for an approved device.
    """
    if offered.public_key != had.public_key:
        return "another key"
    return asks_for_more(had, offered)
