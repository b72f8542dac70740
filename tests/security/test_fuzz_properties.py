"""Property-based fuzzing of the contract core and of the integration's whole receive path."""

from __future__ import annotations

from datetime import UTC, datetime
import logging
import warnings

from homeassistant.core import HomeAssistant
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import NonInteractiveExampleWarning
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from alicia_bus.envelope import parse
from alicia_bus.errors import ProtocolError, SecurityError
from alicia_bus.limits import ReplayWindow
from alicia_bus.policy import Mode, check, retained_state
from tests.integration.helpers import SENSOR, message, register

from .strategies import SIGNER, messages


@settings(
    max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(messages())
def test_the_core_refuses_with_its_own_errors_only(
    sample: tuple[str, bytes, bool],
) -> None:
    topic, raw, retained = sample
    codes: list[str] = []
    try:
        envelope = parse(topic, raw)
    except ProtocolError as err:
        codes.append(err.code)
    else:
        for mode in Mode:
            try:
                check(
                    topic, envelope.raw, mode=mode, key=SIGNER.public_key,
                    window=ReplayWindow(), sent=envelope.timestamp, now=datetime.now(UTC),
                    retained=retained_state(envelope.kind, retained),
                )  # fmt: skip
            except SecurityError as err:
                codes.append(err.code)
    # Anything else (a KeyError, a TypeError, ...) would have failed the test already.
    assert set(codes) <= {
        "too_large", "malformed_json", "not_an_object", "unsupported_protocol",
        "missing_field", "invalid_field", "bad_audio",
        "unsigned", "untrusted", "bad_signature", "stale", "replayed",
    }  # fmt: skip


async def test_the_integration_survives_hostile_traffic(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    await register(hass, SENSOR)
    strategy = messages()
    with warnings.catch_warnings():
        # Examples are drawn here because the test runs inside HA's event loop.
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        samples = [strategy.example() for _ in range(400)]
    for topic, raw, retained in samples:
        async_fire_mqtt_message(hass, topic, raw, retain=retained)
    await hass.async_block_till_done()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    topic = "alicia/devices/kitchen_sensor/data"
    async_fire_mqtt_message(
        hass, topic, message("kitchen_sensor", {"values": {"temperature": 7}})
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.devices["kitchen_sensor"].values["temperature"] == 7
