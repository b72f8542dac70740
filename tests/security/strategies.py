"""Hypothesis strategies: envelopes and payloads, near-valid and hostile, on every topic."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import strategies as st

from custom_components.alicia.bus.signing import KeyPair

from .any_json import json_values, texts

PREFIX = "alicia"
DEVICES = ("kitchen_sensor", "hall_light", "alicia-voice", "home-assistant", "Évil", "")
TOPICS = (
    "system/discovery/register", "system/discovery/register/kitchen_sensor",
    "system/discovery/register/hall_light", "system/discovery/unregister",
    "system/health/heartbeat", "devices/kitchen_sensor/data", "devices/hall_light/status",
    "devices/sensors/telemetry", "devices/speakers/announce", "integration/ha/command",
    "voice/command/response", "voice/ai/request", "voice/stt/request", "voice/tts/request",
    "voice/command/route", "voice/stt/vocabulary", "system/security/trust",
)  # fmt: skip
SIGNER = KeyPair.from_seed(bytes(range(32)))

payloads = st.one_of(
    st.dictionaries(texts, json_values, max_size=5),
    st.fixed_dictionaries(
        {
            "device_id": st.sampled_from(DEVICES),
            "device_type": st.sampled_from(["sensor", "actuator", "service", "x", 1]),
            "capabilities": st.one_of(st.lists(st.sampled_from(["light", "temperature", "", 3]), max_size=4), json_values),
        },
        optional={
            "name": texts, "public_key": st.one_of(texts, st.just(SIGNER.public_key)),
            "via_device": st.sampled_from(DEVICES), "values": json_values,
            "status": st.sampled_from(["healthy", "degraded", "bad"]),
            "action": st.sampled_from(["light.turn_on", "homeassistant.restart", "x"]),
            "target": json_values, "data": json_values, "text": texts,
            "phrases": st.lists(texts, max_size=3), "audio": json_values,
        },
    ),
)  # fmt: skip


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes, bool]:
    """(topic, raw bytes, retained): an envelope with any field broken, maybe signed."""
    topic = f"{PREFIX}/{draw(st.sampled_from(TOPICS))}"
    envelope: dict[str, Any] = {
        "protocol": draw(st.sampled_from([1, 1, 1, 2, "1", True, None])),
        "message_id": draw(st.one_of(st.uuids().map(str), texts)),
        "timestamp": draw(st.sampled_from(["2026-11-22T10:15:30Z", "yesterday", "2026-11-22T10:15:30", 5])),
        "source": draw(st.sampled_from(DEVICES)),
        "destination": draw(st.sampled_from(["broadcast", "hall_light", "", None])),
        "message_type": draw(st.sampled_from(["event", "request", "response", "command", "nope"])),
        "correlation_id": draw(st.one_of(st.none(), texts)),
        "reply_to": draw(st.sampled_from([None, f"{PREFIX}/devices/hall_light/replies/x", "elsewhere/x", f"{PREFIX}/#"])),
        "payload": draw(payloads),
    }  # fmt: skip
    for name in draw(
        st.lists(st.sampled_from(sorted(envelope)), max_size=2, unique=True)
    ):
        envelope.pop(name)
    if draw(st.booleans()):
        with contextlib.suppress(
            TypeError, ValueError
        ):  # not canonicalisable: unsigned
            SIGNER.sign(topic, envelope)
    raw = json.dumps(envelope).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        raw = draw(st.binary(max_size=64))
    return topic, raw, draw(st.booleans())


# An ha/command: actions and entity ids spelled every way HA might read them.
SPELLINGS = (
    "light.kitchen", "light.vault", "light.Vault", "LIGHT.VAULT", "light.vault\n",
    " light.vault", "light.kitchen,light.vault", "light.\u212aitchen", "switch.vault",
    "light.__vault", "light.vault_", "all", "", "light." + "a" * 300, "light.v\u0430ult",
)  # fmt: skip
ACTIONS = (
    "light.turn_on", "Light.Turn_Off", "LIGHT.TOGGLE", "light.turn_on\n",
    "homeassistant.restart", "script.turn_on", "light", 3, None,
)  # fmt: skip
TARGETS_IN_DATA = (
    {"entity_id": "light.vault"}, {"Entity_ID": "light.vault"}, {"area_id": "vault"},
    {"brightness": 10},
)  # fmt: skip


def cased(text: str) -> st.SearchStrategy[str]:
    """Text with any of its letters in upper case."""
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda upper: "".join(
            c.upper() if u else c for c, u in zip(text, upper, strict=True)
        )
    )


# The unexposed light as a device may spell it: a domain HA reads, any case after it.
vault_spellings = st.builds(
    "{}.{}".format, st.sampled_from(["light", "LIGHT", "Light"]), cased("vault")
)
spellings = st.one_of(st.sampled_from(SPELLINGS), vault_spellings)
entity_targets = st.one_of(
    spellings, spellings, st.lists(spellings, max_size=4), json_values
)  # fmt: skip
ha_commands = st.fixed_dictionaries(
    {"action": st.one_of(st.just("light.turn_on"), st.sampled_from(ACTIONS))},
    optional={
        "target": st.one_of(
            *[st.fixed_dictionaries({"entity_id": entity_targets})] * 3, json_values
        ),
        "data": st.one_of(st.dictionaries(texts, json_values, max_size=3), st.sampled_from(TARGETS_IN_DATA)),
    },
)  # fmt: skip
# An analytics event: its name and message, and any other keys.
analytics_events = st.tuples(
    st.fixed_dictionaries({"event": texts}, optional={"message": texts}),
    st.dictionaries(texts, json_values, max_size=12),
).map(lambda parts: {**parts[1], **parts[0]})
