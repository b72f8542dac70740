"""The generated Mosquitto ACL lets a device publish on every topic the protocol has devices publish on."""

from __future__ import annotations

import pytest

from custom_components.alicia.acl import mosquitto_acl
from tests.doc_topics import DocumentedTopic, documented_topics

DEVICE = "hall_satellite"
# Documented as published by devices (among others), in the device's own name.
FROM_DEVICES = [
    t for t in documented_topics() if "device" in t.publisher or t.publisher == "anyone"
]


def writable(rules: list[str], topic: str) -> bool:
    """Whether a write or readwrite rule matches topic, as Mosquitto matches + and #."""
    for rule in rules:
        access, pattern = rule.split()[1:3]
        if access in ("write", "readwrite") and _matches(pattern, topic):
            return True
    return False


def _matches(pattern: str, topic: str) -> bool:
    wanted, levels = pattern.split("/"), topic.split("/")
    for k, level in enumerate(wanted):
        if level == "#":
            return True
        if k >= len(levels) or level not in ("+", levels[k]):
            return False
    return len(wanted) == len(levels)


def device_rules() -> list[str]:
    text = mosquitto_acl("alicia", [(DEVICE, "sensor", None)])
    block = text.split(f"user {DEVICE}\n")[1].split("\n\n")[0]
    return [line for line in block.splitlines() if line.startswith("topic ")]


@pytest.mark.parametrize("topic", FROM_DEVICES, ids=lambda t: t.topic)
def test_a_device_may_publish_where_the_protocol_says_it_does(
    topic: DocumentedTopic,
) -> None:
    """A device confined by the ACL the security guide recommends still works."""
    assert writable(device_rules(), topic.concrete(DEVICE))
