"""A trust list HA signed while its clock was ahead, replayed once that date comes: its serial keeps it older."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
import pytest

from alicia_bus.envelope import Envelope, new_message, parse, timestamp
from alicia_bus.errors import SecurityError
from alicia_bus.policy import Mode
from alicia_bus.signing import KeyPair, fingerprint
from wyoming_services.bridge.trust import Trust
from wyoming_services.settings import Settings

from .bridge_unit import DEVICE, HUB, driven

TRUST = "alicia/system/security/trust"
YEARS = timedelta(days=4 * 365)
KITCHEN = {"kitchen_satellite": DEVICE.public_key}


def ms(moment: datetime) -> int:
    """A serial as HA numbers it: the time in milliseconds."""
    return int(moment.timestamp() * 1000)


def trust_list(
    mode: str,
    devices: dict[str, str],
    serial: int | None,
    sent: datetime | None = None,
) -> Envelope:
    """HA's list, signed at `sent` (its clock then; now by default)."""
    payload: dict[str, object] = {"mode": mode, "devices": devices}
    if serial is not None:
        payload["serial"] = serial
    message = new_message("home-assistant", "event", payload)
    message["timestamp"] = timestamp(sent or datetime.now(UTC))
    return parse(TRUST, json.dumps(HUB.sign(TRUST, message)).encode())


def offer(trust: Trust, message: Envelope) -> None:
    """As the bridge hands it over: a list refused is only logged."""
    with suppress(SecurityError):
        trust.take(message)


def bridge(tmp_path: Path) -> Trust:
    """A bridge (restarted: the same key file) that has pinned HA's key."""
    trust = Trust(Settings(), tmp_path / "bridge.pem")
    if trust.hub_key is None:
        hub = new_message("home-assistant", "event", {"public_key": HUB.public_key})
        topic = "alicia/system/security/hub"
        trust.take(parse(topic, json.dumps(HUB.sign(topic, hub)).encode()))
    return trust


def held(trust: Trust) -> tuple[Mode, dict[str, str]]:
    return trust.mode, trust.devices


def test_a_list_signed_ahead_replayed_once_its_date_comes_is_ignored(
    tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """L1 (2030, the kitchen allowed, security off), refused; L2 revokes it; L1 in 2030: L2 holds."""
    now = datetime.now(UTC)
    ahead = now + YEARS
    l1 = trust_list("off", KITCHEN, ms(ahead), sent=ahead)
    trust = bridge(tmp_path)
    with pytest.raises(SecurityError, match="in the future"):
        trust.take(l1)
    trust.take(trust_list("enforce", {}, ms(ahead) + 1))  # HA counts on past L1
    assert held(trust) == (Mode.ENFORCE, {})
    freezer.move_to(ahead + timedelta(minutes=1))
    offer(trust, l1)
    assert held(trust) == (Mode.ENFORCE, {})
    restarted = bridge(tmp_path)
    offer(restarted, l1)
    assert held(restarted) == (Mode.ENFORCE, {})
    assert restarted.listed


def test_a_higher_serial_dated_ahead_is_taken_once_serials_are_in_use(
    tmp_path: Path,
) -> None:
    """The user's changes apply while HA's clock is ahead."""
    trust = bridge(tmp_path)
    now = datetime.now(UTC)
    trust.take(trust_list("verify", KITCHEN, ms(now)))
    trust.take(trust_list("enforce", {}, ms(now + YEARS), sent=now + YEARS))
    assert held(trust) == (Mode.ENFORCE, {})
    trust.take(trust_list("enforce", KITCHEN, ms(now + YEARS) + 1))  # clock set back
    assert held(bridge(tmp_path)) == (Mode.ENFORCE, KITCHEN)


def test_an_equal_serial_is_ignored_however_new(tmp_path: Path) -> None:
    trust = bridge(tmp_path)
    trust.take(trust_list("enforce", {}, 500, sent=datetime.now(UTC) - YEARS))
    trust.take(trust_list("off", KITCHEN, 500))
    assert held(trust) == (Mode.ENFORCE, {})


def test_a_lower_serial_is_refused_however_new(tmp_path: Path) -> None:
    """Refused as stale (counted, logged): the user learns Home Assistant fell behind."""
    trust = bridge(tmp_path)
    trust.take(trust_list("enforce", {}, 500, sent=datetime.now(UTC) - YEARS))
    with pytest.raises(SecurityError, match="older than the one held"):
        trust.take(trust_list("off", KITCHEN, 499))
    assert held(trust) == (Mode.ENFORCE, {})


def test_a_list_without_a_serial_after_one_with_is_refused(tmp_path: Path) -> None:
    trust = bridge(tmp_path)
    trust.take(
        trust_list("enforce", {}, 500, sent=datetime.now(UTC) - timedelta(days=1))
    )
    with pytest.raises(SecurityError, match="older integration's, or a replay"):
        trust.take(trust_list("off", KITCHEN, None))
    restarted = bridge(tmp_path)
    offer(restarted, trust_list("off", KITCHEN, None))
    assert held(restarted) == (Mode.ENFORCE, {})


async def test_a_serial_less_list_after_a_serial_is_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus = driven(tmp_path)
    await bus.deliver(TRUST, trust_list("enforce", KITCHEN, 7).raw, True)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await bus.deliver(TRUST, trust_list("off", {}, None).raw, True)
    assert bus.bridge.counters.by_code == {"stale": 3}
    assert bus.bridge.trust.mode is Mode.ENFORCE
    logged = [r for r in caplog.records if "older integration" in r.getMessage()]
    assert len(logged) == 1  # rate-limited


def test_lists_without_serials_still_go_by_time(tmp_path: Path) -> None:
    """An older integration's lists: newer by send time taken, older ignored, ahead refused."""
    trust = bridge(tmp_path)
    now = datetime.now(UTC)
    trust.take(trust_list("verify", KITCHEN, None, sent=now - timedelta(seconds=60)))
    trust.take(trust_list("enforce", {}, None))
    trust.take(trust_list("off", KITCHEN, None, sent=now - timedelta(seconds=30)))
    assert held(trust) == (Mode.ENFORCE, {})
    with pytest.raises(SecurityError, match="in the future"):
        trust.take(trust_list("off", KITCHEN, None, sent=now + YEARS))
    trust.take(trust_list("verify", KITCHEN, None, sent=now + timedelta(seconds=1)))
    assert held(bridge(tmp_path)) == (Mode.VERIFY, KITCHEN)


def test_a_trust_file_kept_before_serials_is_restored_and_moved_on_by_time(
    tmp_path: Path,
) -> None:
    """An older bridge's .trust (no serial): a serial list newer by time takes over, an older is ignored."""
    (tmp_path / "bridge.hub").write_text(HUB.public_key)
    kept = {"time": datetime.now(UTC).isoformat(), "mode": "enforce",
            "devices": KITCHEN, "signed_by": fingerprint(HUB.public_key)}  # fmt: skip
    (tmp_path / "bridge.trust").write_text(json.dumps(kept))
    trust = bridge(tmp_path)
    assert trust.listed
    assert held(trust) == (Mode.ENFORCE, KITCHEN)
    a_minute = timedelta(seconds=60)
    trust.take(trust_list("off", {}, 10, sent=datetime.now(UTC) - a_minute))
    assert held(trust) == (Mode.ENFORCE, KITCHEN)
    trust.take(trust_list("verify", {}, 9, sent=datetime.now(UTC) + a_minute / 60))
    assert held(trust) == (Mode.VERIFY, {})
    offer(trust, trust_list("off", KITCHEN, None, sent=datetime.now(UTC)))
    assert held(bridge(tmp_path)) == (Mode.VERIFY, {})


def test_a_list_signed_ahead_is_ignored_once_the_pin_is_named_again(
    tmp_path: Path, freezer: FrozenDateTimeFactory
) -> None:
    """Another key named by mistake (the pin forgotten), then HA's again: the list kept,
    HA's key's own, still orders lists by its serial, not by a send time HA's clock put ahead."""
    now = datetime.now(UTC)
    ahead = now + YEARS
    l1 = trust_list("off", KITCHEN, ms(ahead), sent=ahead)
    trust = bridge(tmp_path)
    offer(trust, l1)  # in the future: refused
    trust.take(trust_list("enforce", {}, ms(ahead) + 1))  # HA counts on past L1
    other = KeyPair.from_seed(bytes(range(2, 34))).public_key
    Trust(Settings(hub_key_fingerprint=fingerprint(other)), tmp_path / "bridge.pem")
    freezer.move_to(ahead + timedelta(minutes=1))
    named = Trust(
        Settings(hub_key_fingerprint=fingerprint(HUB.public_key)),
        tmp_path / "bridge.pem",
    )
    assert named.hub_key is None
    hub = new_message("home-assistant", "event", {"public_key": HUB.public_key})
    topic = "alicia/system/security/hub"
    named.take(parse(topic, json.dumps(HUB.sign(topic, hub)).encode()))
    offer(named, l1)
    assert held(named) == (Mode.ENFORCE, {})
