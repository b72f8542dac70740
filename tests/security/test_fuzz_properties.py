"""Property-based fuzzing of the contract core and of the integration's whole receive path."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import logging
from typing import Any
import warnings

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.const import MAX_LENGTH_STATE_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.setup import async_setup_component
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.errors import NonInteractiveExampleWarning
from hypothesis.strategies import SearchStrategy
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
import voluptuous as vol

from custom_components.alicia.analytics import MAX_DATA_KEYS, MAX_DATA_TEXT
from custom_components.alicia.bus.envelope import parse
from custom_components.alicia.bus.errors import ProtocolError, SecurityError
from custom_components.alicia.bus.limits import ReplayWindow
from custom_components.alicia.bus.policy import Mode, check, retained_state
from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.ha_commands import ha_entity_id
from tests.integration.helpers import SENSOR, message, recorded, register

from .devices import ATTACKER, COMMAND, publish
from .strategies import (
    SIGNER,
    analytics_events,
    cased,
    ha_commands,
    messages,
    spellings,
)


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


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(max_size=40), spellings, cased("switch.kitchen_2")))
def test_an_entity_id_is_checked_as_ha_reads_it(spelled: str) -> None:
    ours = ha_entity_id(spelled)
    try:
        theirs: str | None = cv.entity_id(spelled)
    except vol.Invalid:
        theirs = None
    # The id checked is the one HA acts on; Alicia refuses more only where HA's
    # rule is loose (a trailing newline on HA 2026.2) or no entity can exist.
    assert ours == theirs or (
        ours is None and theirs is not None
        and (theirs.endswith("\n") or len(theirs) > MAX_LENGTH_STATE_ENTITY_ID)
    )  # fmt: skip


def drawn[T](strategy: SearchStrategy[T], count: int) -> list[T]:
    """Examples drawn outside hypothesis' runner: the tests run inside HA's event loop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        return [strategy.example() for _ in range(count)]


async def test_the_integration_survives_hostile_traffic(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    await register(hass, SENSOR)
    samples = drawn(messages(), 400)
    for topic, raw, retained in samples:
        async_fire_mqtt_message(hass, topic, raw, retain=retained)
    await hass.async_block_till_done()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    topic = "alicia/devices/kitchen_sensor/data"
    async_fire_mqtt_message(
        hass, topic, message("kitchen_sensor", {"values": {"temperature": 7}})
    )
    await hass.async_block_till_done()
    assert (
        entry.runtime_data.roster.devices["kitchen_sensor"].values["temperature"] == 7
    )


async def attacker_sends(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    keys: dict[str, KeyPair],
    topic: str,
    payloads: list[dict[str, Any]],
) -> None:
    """Each payload signed by the approved attacker, within its rate limit."""
    for payload in payloads:
        freezer.tick(0.2)
        try:
            text = message(
                ATTACKER, payload, "request", key=keys[ATTACKER], topic=topic
            )
        except ValueError:
            # A lone surrogate cannot be signed; parsing refuses it before signatures.
            text = message(ATTACKER, payload, "request")
        publish(hass, topic, text)
        await hass.async_block_till_done()


def alicia_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage()[:200] for r in caplog.records if r.levelno >= logging.ERROR]


async def test_no_spelling_of_an_ha_command_reaches_an_unexposed_entity(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    for entity_id, exposed in (
        ("light.kitchen", True),
        ("light.vault", False),
        ("switch.vault", False),
    ):
        domain, name = entity_id.split(".")
        er.async_get(hass).async_get_or_create(
            domain, "test", name, suggested_object_id=name
        )
        hass.states.async_set(entity_id, "on")
        async_expose_entity(hass, "conversation", entity_id, exposed)
    mocked = [
        async_mock_service(hass, domain, service)
        for domain in ("light", "switch", "homeassistant", "script")
        for service in ("turn_on", "turn_off", "toggle", "restart")
    ]
    await attacker_sends(hass, freezer, keys, COMMAND, drawn(ha_commands, 400))
    # And a command that must run, so the path is shown open for what is exposed.
    legit = {"action": "light.turn_off", "target": {"entity_id": "Light.Kitchen"}}
    await attacker_sends(hass, freezer, keys, COMMAND, [legit])
    calls: list[ServiceCall] = [call for made in mocked for call in made]
    assert calls[-1].data["entity_id"] == ["light.kitchen"]
    touched = {e for call in calls for e in call.data["entity_id"]}
    assert touched == {"light.kitchen"}
    assert all(
        not call.data.keys() & {"area_id", "device_id", "floor_id", "label_id"}
        for call in calls
    )
    answers = [
        c.args[1]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"{COMMAND}/response"
    ]
    assert answers  # answered (what cannot be read, on system/errors), briefly
    assert max(len(a) for a in answers) < 2_000
    assert alicia_errors(caplog) == []


async def test_analytics_reach_the_recorder_only_small_and_plain(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    entry: MockConfigEntry,
    keys: dict[str, KeyPair],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fired = recorded(hass, "alicia_analytics")
    samples = [*drawn(analytics_events, 300), {"event": "filter_changed", "hours": 4}]
    await attacker_sends(
        hass, freezer, keys, "alicia/integration/analytics/event", samples
    )
    assert fired[-1]["data"] == {"hours": 4}  # a plain report still counts
    for event in fired:
        data = event["data"]
        assert len(data) <= MAX_DATA_KEYS
        assert all(
            v is None
            or isinstance(v, bool | int | float)
            or (isinstance(v, str) and len(v) <= MAX_DATA_TEXT)
            for v in data.values()
        )
        assert len(json.dumps(event)) < 2_000
    assert alicia_errors(caplog) == []
