"""Hub keys offered to the bridge, attacked: forged ones flood neither the log nor the heartbeat."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from alicia_bus.envelope import new_message
from alicia_bus.signing import KeyPair

from .bridge_unit import HUB, Driven, driven

HUB_TOPIC = "alicia/system/security/hub"


def offer(key: KeyPair) -> dict[str, Any]:
    """A key offered as Home Assistant's, signed by itself as HA signs its own."""
    message = new_message("home-assistant", "event", {"public_key": key.public_key})
    return key.sign(HUB_TOPIC, message)


class Broker:
    """What the bridge asks of its client here: subscriptions again."""

    def __init__(self) -> None:
        self.subscribed: list[str] = []

    async def subscribe(self, topic: str, qos: int) -> None:
        self.subscribed.append(topic)


def connected(tmp_path: Path) -> tuple[Driven, Broker]:
    state, broker = driven(tmp_path), Broker()
    state.bridge._client = broker  # type: ignore[assignment]
    state.bridge.engines = SimpleNamespace(  # type: ignore[assignment]
        stt=SimpleNamespace(load_error=None), tts=SimpleNamespace(voices=["v"])
    )
    return state, broker


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_forged_offers_are_said_once_and_leave_the_heartbeat_healthy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """300 keys offered live: a line or two, one look at the broker's kept key."""
    state, broker = connected(tmp_path)
    for _ in range(300):
        await state.deliver(HUB_TOPIC, offer(KeyPair.generate()))
    assert len(warnings(caplog)) <= 2
    assert broker.subscribed == [HUB_TOPIC]
    await state.deliver(HUB_TOPIC, offer(HUB), retain=True)  # the broker's answer
    health = state.bridge.health()
    assert (health["status"], health["hub_key"]) == ("healthy", HUB.fingerprint)
    assert state.bridge.trust.hub_key == HUB.public_key


async def test_ha_new_key_kept_by_the_broker_is_reported_until_the_user_decides(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The user replaced HA's key: it comes live, then as the broker's kept copy."""
    state, broker = connected(tmp_path)
    new = KeyPair.generate()
    await state.deliver(HUB_TOPIC, offer(new))
    assert broker.subscribed == [HUB_TOPIC]
    for _ in range(3):  # the kept copy, at every subscription
        await state.deliver(HUB_TOPIC, offer(new), retain=True)
    health = state.bridge.health()
    assert (health["status"], health["hub_key"]) == ("degraded", HUB.fingerprint)
    assert state.bridge.trust.refused_hub_key == new.fingerprint
    assert state.bridge.trust.hub_key == HUB.public_key  # never re-pinned by itself
    assert any("hub_key_fingerprint option" in line for line in warnings(caplog))
