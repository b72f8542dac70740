"""HA's clock once ahead (a wrong NTP server): what it signed then must not shut out what it signs since."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path

from alicia_bus.envelope import Envelope, new_message, parse, timestamp
from alicia_bus.errors import SecurityError
from alicia_bus.home import HaState
from alicia_bus.policy import Mode
from alicia_bus.signing import fingerprint
from wyoming_services.bridge.home import HomeState
from wyoming_services.bridge.trust import Trust
from wyoming_services.settings import Settings

from .bridge_unit import AI, DEVICE, HUB, driven

DAY = 86400.0
TRUST = "alicia/system/security/trust"


def signed(topic: str, payload: dict[str, object], age: float = 0) -> Envelope:
    message = new_message("home-assistant", "event", payload)
    message["timestamp"] = timestamp(datetime.now(UTC) - timedelta(seconds=age))
    return parse(topic, json.dumps(HUB.sign(topic, message)).encode())


def trust_list(mode: str, devices: dict[str, str], age: float = 0) -> Envelope:
    return signed(TRUST, {"mode": mode, "devices": devices}, age)


def acts(trust: Trust) -> bool:
    message = new_message("kitchen_satellite", "request", {"text": "Unlock the door"})
    request = parse(AI, json.dumps(DEVICE.sign(AI, message)).encode())
    return trust.may_act("kitchen_satellite", trust.check(request, retained=False))


def offer(trust: Trust, message: Envelope) -> None:
    """As the bridge hands it over: a list refused is only logged."""
    with suppress(SecurityError):
        trust.take(message)


def bridge(tmp_path: Path) -> Trust:
    trust = Trust(Settings(), tmp_path / "bridge.pem")
    trust.take(signed("alicia/system/security/hub", {"public_key": HUB.public_key}))
    return trust


def test_a_list_signed_a_day_ahead_does_not_keep_a_removed_device(
    tmp_path: Path,
) -> None:
    """The list HA signs once its clock is right removes the device, after a restart too."""
    trust = bridge(tmp_path)
    offer(trust, trust_list("verify", {"kitchen_satellite": DEVICE.public_key}, -DAY))
    trust.take(trust_list("verify", {}))  # the user removed the device
    assert not acts(trust)
    again = Trust(Settings(), tmp_path / "bridge.pem")
    assert not acts(again)
    again.take(trust_list("enforce", {}))
    assert again.mode is Mode.ENFORCE


async def test_a_list_signed_past_the_window_ahead_is_refused_and_counted(
    tmp_path: Path,
) -> None:
    """Refused as stale, as a message from the future is: the list held stays."""
    bus = driven(tmp_path)
    await bus.deliver(TRUST, trust_list("off", {}, -DAY).raw, True)
    assert bus.bridge.counters.by_code == {"stale": 1}
    assert bus.bridge.trust.devices == {"kitchen_satellite": DEVICE.public_key}


def test_a_future_time_kept_by_an_older_bridge_is_its_clock_when_kept(
    tmp_path: Path,
) -> None:
    """A .trust file dated a day ahead: the list HA signed after it was kept is taken."""
    (tmp_path / "bridge.hub").write_text(HUB.public_key)  # pinned before
    kept = tmp_path / "bridge.trust"
    ahead = datetime.now(UTC) + timedelta(days=1)
    kitchen = {"kitchen_satellite": DEVICE.public_key}
    hub = fingerprint(HUB.public_key)
    document = {"time": ahead.isoformat(), "mode": "verify", "signed_by": hub}
    kept.write_text(json.dumps({**document, "devices": kitchen}))
    an_hour_ago = datetime.now(UTC).timestamp() - 3600
    os.utime(kept, (an_hour_ago, an_hour_ago))
    trust = Trust(Settings(), tmp_path / "bridge.pem")
    assert acts(trust)
    trust.take(trust_list("verify", {}, age=60))  # the broker's kept copy
    assert not acts(trust)


def test_a_state_dated_ahead_does_not_shut_out_the_states_since() -> None:
    """A lock's state signed a day ahead, then the one signed now: the lock is as it is now."""
    home = HomeState()
    lock = "lock.front"
    ahead = datetime.now(UTC) + timedelta(days=1)
    assert home.update(lock, HaState.of(lock, "unlocked", None, {}, "now"), ahead)
    now = datetime.now(UTC)
    assert home.update(lock, HaState.of(lock, "locked", None, {}, "now"), now)
    assert [entity.state for entity in home.find()] == ["locked"]
