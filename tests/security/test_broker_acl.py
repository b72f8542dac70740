"""The generated Mosquitto ACL, as an attacker approved as a service would use it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from paho.mqtt.client import topic_matches_sub
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.acl import mosquitto_acl
from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN

from .devices import ATTACKER
from .test_hub_children import CHILD, child_of_the_hub

BRIDGE = "bridge-a"
VICTIM = "kitchen_sensor"
HUB = "hall_hub"
APPROVED = [
    (BRIDGE, "service", None),
    (VICTIM, "sensor", None),
    (HUB, "controller", None),
    (CHILD, "sensor", HUB),
]
# Every contract leaf of a device's namespace (docs/protocol.md's topic table).
LEAVES = [
    "status", "data", "command", "config", "satellite/run", "satellite/audio",
    "satellite/played", "satellite/event",
]  # fmt: skip
# Every topic the bridge publishes in tests/bus: what bridge-* published on the
# brokers there (their Mosquitto logs, "Received PUBLISH from bridge-..."), and what
# the bridge driven without a broker publishes there (a guest's inbox, announcements).
BRIDGE_PUBLISHES = [
    f"alicia/devices/{BRIDGE}/status",
    f"alicia/system/discovery/register/{BRIDGE}",
    "alicia/system/health/heartbeat",
    "alicia/system/errors",
    "alicia/integration/ha/command",
    "alicia/voice/stt/response",
    "alicia/voice/ai/response",
    "alicia/voice/tts/response",
    "alicia/voice/command/response",
    "alicia/voice/ai/response/test-device",
    "alicia/voice/command/response/test-device",
    "alicia/voice/command/response/fuzzer",
    "alicia/voice/command/response/kitchen_satellite",
    "alicia/devices/visitor/replies/voice",
    "alicia/devices/speakers/announce",
]


def rules_of(user: str, devices: list[tuple[str, str, str | None]]) -> list[str]:
    """The topic lines of user's block."""
    text = mosquitto_acl("alicia", devices)
    block = text.split(f"user {user}\n")[1].split("\n\n")[0]
    return [line for line in block.splitlines() if line.startswith("topic ")]


def allowed(user: str, access: str, topic: str) -> bool:
    """Whether the ACL lets user read or write topic, as Mosquitto matches + and #."""
    return any(
        rule.split()[1] in (access, "readwrite")
        and topic_matches_sub(rule.split()[2], topic)
        for rule in rules_of(user, APPROVED)
    )


@pytest.mark.parametrize("leaf", LEAVES)
def test_a_service_may_not_write_another_devices_topics(leaf: str) -> None:
    """The attack: a device approved as a service publishes data or clears config as its victim."""
    assert not allowed(BRIDGE, "write", f"alicia/devices/{VICTIM}/{leaf}")
    assert not allowed(BRIDGE, "write", f"alicia/devices/{CHILD}/{leaf}")


@pytest.mark.parametrize("topic", BRIDGE_PUBLISHES)
def test_the_bridge_may_still_publish_what_it_does(topic: str) -> None:
    assert allowed(BRIDGE, "write", topic)


def test_a_service_answers_only_into_a_devices_replies() -> None:
    assert allowed(BRIDGE, "write", f"alicia/devices/{VICTIM}/replies/voice")
    assert not allowed(BRIDGE, "write", f"alicia/devices/{VICTIM}/answers")
    assert not allowed(BRIDGE, "write", f"alicia/devices/{VICTIM}/x/response/a")


def test_a_hub_reads_its_childrens_topics_and_no_others() -> None:
    """A child's commands and settings reach it through its hub."""
    for leaf in ("command", "config", "replies/ha"):
        assert allowed(HUB, "read", f"alicia/devices/{CHILD}/{leaf}")
        assert not allowed(HUB, "read", f"alicia/devices/{VICTIM}/{leaf}")
        assert not allowed(VICTIM, "read", f"alicia/devices/{CHILD}/{leaf}")
    assert not allowed(HUB, "write", f"alicia/devices/{CHILD}/config")
    assert not allowed(CHILD, "read", f"alicia/devices/{HUB}/command")


def test_a_child_naming_a_reserved_id_opens_no_shared_namespace() -> None:
    """A hub never reads devices/speakers/# (every announcement) through a child."""
    devices = [(HUB, "controller", None), ("speakers", "speaker", HUB)]
    assert "topic read alicia/devices/speakers/#" not in rules_of(HUB, devices)


async def test_the_action_lets_an_approved_hub_read_its_childs_commands(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, KeyPair]
) -> None:
    """alicia.mosquitto_acl passes who talks through whom: a child's commands reach its hub."""
    await child_of_the_hub(hass, keys[ATTACKER])
    result = await hass.services.async_call(
        DOMAIN, "mosquitto_acl", {}, blocking=True, return_response=True
    )
    assert result is not None
    hub = str(result["acl"]).split(f"user {ATTACKER}\n")[1].split("\n\n")[0]
    assert f"topic read alicia/devices/{CHILD}/#" in hub.splitlines()
