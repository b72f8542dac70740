"""Refused registrations a user can act on: a repair that says why, and who is unsigned."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from custom_components.alicia.diagnostics import async_get_config_entry_diagnostics

from .helpers import SENSOR, approve_from_discovery, message, register

REGISTER = "alicia/system/discovery/register/kitchen_sensor"


async def fire(hass: HomeAssistant, text: str, topic: str = REGISTER) -> None:
    async_fire_mqtt_message(hass, topic, text)
    await hass.async_block_till_done()


def reason(hass: HomeAssistant, device_id: str = "kitchen_sensor") -> str:
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"refused_{device_id}")
    assert issue is not None
    assert issue.translation_key == "refused_registration"
    assert issue.translation_placeholders is not None
    return issue.translation_placeholders["reason"]


async def test_a_wrong_protocol_version_is_a_repair_until_it_registers_well(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await fire(hass, message("kitchen_sensor", SENSOR, protocol=2))
    assert "protocol" in reason(hass)
    data = await async_get_config_entry_diagnostics(hass, entry)
    assert "kitchen_sensor" in data["refused_registrations"]

    await register(hass, SENSOR)
    assert ir.async_get(hass).async_get_issue(DOMAIN, "refused_kitchen_sensor") is None
    assert "kitchen_sensor" in entry.runtime_data.approvals.pending


async def test_a_bad_heartbeat_interval_is_named(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await fire(hass, message("kitchen_sensor", {**SENSOR, "heartbeat_interval": 0}))
    assert "heartbeat\\_interval" in reason(hass)


async def test_the_card_names_the_device_as_it_is(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """The title is plain text and the id a code span: an escape showed as `kitchen\\_sensor`."""
    await fire(hass, message("kitchen_sensor", {**SENSOR, "heartbeat_interval": 0}))
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "refused_kitchen_sensor")
    assert issue is not None
    assert issue.translation_placeholders is not None
    texts = await async_get_translations(hass, "en", "issues", [DOMAIN])
    text = f"component.{DOMAIN}.issues.refused_registration"

    title = texts[f"{text}.title"].format(**issue.translation_placeholders)
    description = texts[f"{text}.description"].format(**issue.translation_placeholders)

    assert title == "Device kitchen_sensor could not join"
    assert description.startswith(
        "Alicia refused the registration of `kitchen_sensor`:"
    )


async def test_a_key_that_is_no_key_is_named(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    await fire(
        hass, message("kitchen_sensor", {**SENSOR, "public_key": "bm90IGEga2V5"})
    )
    assert "Ed25519" in reason(hass)


async def test_refusal_cards_are_bounded(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    for n in range(25):
        device = f"d{n}"
        topic = f"alicia/system/discovery/register/{device}"
        await fire(
            hass, message(device, {**SENSOR, "device_id": device}, protocol=9), topic
        )
    issues = ir.async_get(hass).issues.values()
    assert sum(i.issue_id.startswith("refused_") for i in issues) == 20


async def test_a_device_that_signs_since_its_approval_is_not_unsigned(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    key = KeyPair.generate()
    document = {**SENSOR, "public_key": key.public_key}
    await fire(hass, message("kitchen_sensor", document, key=key, topic=REGISTER))
    audit = entry.runtime_data.admission.audit
    data = "alicia/devices/kitchen_sensor/data"
    values = {"values": {"temperature": 20}}
    await fire(hass, message("kitchen_sensor", values, key=key, topic=data), data)
    assert "kitchen_sensor" in audit.unsigned_sources  # no approved key yet
    await approve_from_discovery(hass, "kitchen_sensor")
    await fire(hass, message("kitchen_sensor", values, key=key, topic=data), data)
    assert "kitchen_sensor" not in audit.unsigned_sources


async def test_a_mistake_counted_is_written_to_refused_messages(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    sensor = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_security_refused"
    )
    assert sensor is not None
    data = "alicia/devices/kitchen_sensor/data"
    await fire(hass, '{"protocol": 1, "source": "kitchen_sensor"}', data)
    freezer.tick(1.1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = hass.states.get(sensor)
    assert state is not None
    assert state.state == "1"
    assert state.attributes["missing_field"] == 1
