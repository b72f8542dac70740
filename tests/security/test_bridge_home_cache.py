"""The bridge's view of the home, attacked: removals, replayed states, a flood of children's entities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alicia_bus.envelope import new_message, timestamp
from alicia_bus.home import HaState
from wyoming_services.bridge.home import HomeState

from .bridge_unit import HUB, driven

STATE = "alicia/integration/ha/state/{}"


def signed(published: HaState, sent: datetime | None = None) -> dict[str, Any]:
    message = new_message("home-assistant", "event", published.to_payload())
    if sent is not None:
        message["timestamp"] = timestamp(sent)
    return HUB.sign(STATE.format(published.entity_id), message)


def lock(value: str) -> HaState:
    return HaState.of("lock.front", value, "Hall", {}, "now")


def shown(home: HomeState) -> dict[str, str]:
    return {entity.entity_id: entity.state for entity in home.find()}


async def test_an_empty_retained_message_removes_nothing_a_signed_tombstone_does(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    topic = STATE.format("lock.front")
    await bus.deliver(topic, signed(lock("locked")), retain=True)
    await bus.deliver(topic, b"", retain=True)  # anyone can send this
    assert shown(bus.bridge.home) == {"lock.front": "locked"}
    await bus.deliver(topic, signed(HaState.tombstone("lock.front")))
    assert shown(bus.bridge.home) == {}


async def test_a_retained_old_state_replayed_does_not_replace_the_newer(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    topic = STATE.format("lock.front")
    then = datetime.now(UTC) - timedelta(hours=1)
    old = signed(lock("unlocked"), then)  # genuine, kept by the attacker
    await bus.deliver(topic, signed(lock("locked")), retain=True)
    await bus.deliver(topic, old, retain=True)
    assert shown(bus.bridge.home) == {"lock.front": "locked"}
    # Nor after a removal: an older state cannot bring the entity back.
    await bus.deliver(topic, signed(HaState.tombstone("lock.front")))
    await bus.deliver(topic, old, retain=True)
    assert shown(bus.bridge.home) == {}
    assert bus.bridge.counters.by_code["stale"] == 2


async def test_children_cannot_push_the_homes_own_entities_out(
    tmp_path: Path,
) -> None:
    bus = driven(tmp_path)
    bus.bridge.home = home = HomeState(limit=6, per_device=3)
    own = [f"light.own_{n}" for n in range(3)]
    for entity_id in own:
        await bus.deliver(
            STATE.format(entity_id), signed(HaState(entity_id, "on")), retain=True
        )
    # An auto-approved hub registers children whose entities HA exposes: a flood.
    for n in range(20):
        child = HaState(f"sensor.child_{n}", "1", device="rogue_hub")
        await bus.deliver(STATE.format(child.entity_id), signed(child), retain=True)
    children = [e for e in shown(home) if e.startswith("sensor.child_")]
    assert children == ["sensor.child_17", "sensor.child_18", "sensor.child_19"]
    # Another device still gets its share, and a new entity of HA's own its place.
    for n in range(3):
        other = HaState(f"sensor.porch_{n}", "2", device="porch")
        await bus.deliver(STATE.format(other.entity_id), signed(other), retain=True)
    await bus.deliver(
        STATE.format("light.new"), signed(HaState("light.new", "off")), retain=True
    )
    assert set(own) | {"light.new", "sensor.porch_1", "sensor.porch_2"} <= set(
        shown(home)
    )
    assert len(home) == 6
