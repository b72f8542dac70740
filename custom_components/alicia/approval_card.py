"""The approval card: what the user is shown of a device asking to join, and the request it carries."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
from typing import Any
from urllib.parse import urlparse

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .device import DeviceRecord
from .markdown import code, literal, title

UNSIGNED = "none (unsigned)"
# The registration's device_type, as the approval card says it.
TYPE_WORDS = {
    "sensor": "a sensor (it measures or detects)",
    "actuator": "an actuator (it switches or controls something)",
    "speaker": "a speaker",
    # What the broker's ACL gives a service (acl.SERVICE_RULES), said where it is approved.
    "service": (
        "a service (software, such as the voice server): it may hear every "
        "device's voice requests and answer them"
    ),
    "controller": "a controller (buttons or remotes)",
}
# A discovered device's config flow, and the ignored entry HA keeps when the user ignores it.
UNIQUE_ID_PREFIX = "device:"
# What an approved device's request is: its repair issue's translation key, and its
# dialog's step (strings.json has each step under each key: the frontend picks the
# text by the issue's key from its list, which may be older than the request).
KEY_CHANGED = "key_changed"
MORE_ASKED = "more_asked"
KEY_CHANGED_MORE = "key_changed_more"


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """A pending device offered to the user: the discovery flow's data."""

    entry_id: str
    device_id: str
    # The key the card shows (UNSIGNED for a device that does not sign).
    fingerprint: str
    # shown_digest() of the card this request shows; a request changed meanwhile differs.
    shown: str

    @property
    def unique_id(self) -> str:
        """The flow's unique id (and an ignored entry's)."""
        return unique_id_of(self.device_id)


def unique_id_of(device_id: str) -> str:
    """The unique id of a device's approval flow."""
    return f"{UNIQUE_ID_PREFIX}{device_id}"


def configuration_url(metadata: dict[str, Any]) -> str | None:
    """The device's own web page, if it names one HA may link to (http or https only).

    The card shows it in a code span: no space or backtick, as no address has.
    """
    url = metadata.get("configuration_url")
    if not isinstance(url, str) or len(url) > 256 or not url.isprintable():
        return None
    if any(c.isspace() or c == "`" for c in url):
        return None
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


def suggested_area(metadata: dict[str, Any]) -> str | None:
    """The HA area a device's location names: HA puts it there when HA first adds it."""
    location = metadata.get("location")
    return str(location).replace("_", " ").title() if location else None


def type_in_words(device_type: str) -> str:
    """A device type in words (registrations carry only the types above)."""
    return TYPE_WORDS.get(device_type, literal(device_type))


def card(record: DeviceRecord, parent: str | None = None) -> dict[str, str]:
    """What the approval card shows of a request, as its placeholders.

    parent: the name of the approved device it talks through (its via_device), if any.
    """
    metadata = record.metadata
    return {
        "device_id": record.device_id,
        "name": literal(record.name),
        # Titles are plain text: a Markdown escape would show as a backslash.
        "title_name": title(record.name),
        "device_type": type_in_words(record.device_type),
        # The card renders Markdown: a device's words must not become links or images.
        "manufacturer": literal(str(metadata.get("manufacturer") or "unknown")),
        "model": literal(str(metadata.get("model") or "unknown")),
        "capabilities": offers(record),
        "fingerprint": record.fingerprint or UNSIGNED,
        "via_device": through(record.via_device, parent),
        "area": area_in_words(metadata),
        "configuration_url": link_in_words(metadata),
    }


def area_in_words(metadata: dict[str, Any]) -> str:
    """Where HA puts a new device, in words."""
    area = suggested_area(metadata)
    return f"**{literal(area)}**" if area else "none: you choose it in Home Assistant"


def link_in_words(metadata: dict[str, Any]) -> str:
    """The web page its device page links to, as the card shows it."""
    url = configuration_url(metadata)
    return code(url) if url else "none"


def approved_card(approved: DeviceRecord, parent: str | None) -> dict[str, str]:
    """What the user approved of a device that now asks for another key or more."""
    return {
        "old_fingerprint": approved.fingerprint or UNSIGNED,
        "old_device_type": type_in_words(approved.device_type),
        "old_capabilities": offers(approved),
        "old_via_device": through(approved.via_device, parent),
        "old_configuration_url": link_in_words(approved.metadata),
    }


def new_link(approved: DeviceRecord, offered: DeviceRecord) -> str | None:
    """Another web page than the approved one, in words, or None (none is no new one)."""
    url = configuration_url(offered.metadata)
    if url is None or url == configuration_url(approved.metadata):
        return None
    return f"web page {url}"


def request_kind(key_changed: bool, more: bool) -> str:
    """What an approved device's request is: another key, more, or both."""
    if key_changed:
        return KEY_CHANGED_MORE if more else KEY_CHANGED
    return MORE_ASKED


def offers(record: DeviceRecord) -> str:
    """Its capabilities' names, as the card lists them."""
    return ", ".join(literal(c.name) for c in record.capabilities) or "none"


def through(via_device: str | None, parent: str | None) -> str:
    """Who else speaks for the device: the device it talks through, in words."""
    if via_device is None:
        return "nobody: it talks to Home Assistant itself"
    named = f"**{literal(parent)}**" if parent else "a device that is not approved"
    return (
        f"{named} (`{via_device}`), which sends and changes everything of this device"
    )


def shown_digest(placeholders: dict[str, str]) -> str:
    """One value for everything a card shows: a request changed meanwhile differs."""
    text = json.dumps(placeholders, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def ask_about_change(
    hass: HomeAssistant, entry_id: str, placeholders: dict[str, str], shown: str
) -> None:
    """The repair card of an approved device's request: another key, more than approved, or both."""
    device_id = placeholders["device_id"]
    ir.async_create_issue(
        hass, DOMAIN, f"pending_{device_id}",
        is_fixable=True, is_persistent=False, severity=ir.IssueSeverity.ERROR,
        translation_key=placeholders["kind"],
        translation_placeholders=placeholders,
        data={
            "entry_id": entry_id, "device_id": device_id,
            "fingerprint": placeholders["fingerprint"], "shown": shown,
        },
    )  # fmt: skip
