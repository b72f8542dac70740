"""HA's users: only an admin opens the permit window or changes the security mode; announce keeps the caller."""

from __future__ import annotations

from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers.entity_component import DATA_INSTANCES
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.bus.signing import KeyPair
from custom_components.alicia.const import DOMAIN
from tests.integration.helpers import SENSOR, hub_entity

from .devices import VICTIM, data, register_signed, victim_temperature

# A stranger on the broker offering a voice service, as a device would.
ROGUE = {
    "device_id": "rogue_voice",
    "device_type": "service",
    "name": "Rogue voice server",
    "capabilities": ["stt", "ai", "announce"],
}


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The admin chose manual approval: every device waits for an admin's card."""
    return {"approval": "manual"}


@pytest.fixture
async def household_user(hass: HomeAssistant, hass_owner_user: User) -> User:
    """An ordinary user, not an admin, as HA's UI makes them."""
    return await hass.auth.async_create_user("Guest", group_ids=[GROUP_ID_USER])


async def permit(hass: HomeAssistant, entity_id: str, user: User | None) -> None:
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": entity_id}, blocking=True,
        context=Context(user_id=user.id if user else None),
    )  # fmt: skip


async def select_mode(
    hass: HomeAssistant, entity_id: str, mode: str, user: User | None
) -> None:
    await hass.services.async_call(
        "select", "select_option", {"entity_id": entity_id, "option": mode},
        blocking=True, context=Context(user_id=user.id if user else None),
    )  # fmt: skip
    await hass.async_block_till_done()


async def test_a_user_who_is_no_admin_cannot_open_the_permit_window(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    household_user: User,
) -> None:
    switch = hub_entity(hass, entry, "switch", "permit")
    with pytest.raises(Unauthorized):
        await permit(hass, switch, household_user)
    assert not entry.runtime_data.approvals.permit_open
    await register_signed(hass, ROGUE, KeyPair.generate())
    assert "rogue_voice" not in entry.runtime_data.roster.devices
    assert "rogue_voice" in entry.runtime_data.approvals.pending


@pytest.mark.parametrize("admin", [True, False])
async def test_an_admin_or_an_automation_opens_it(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    hass_admin_user: User,
    admin: bool,
) -> None:
    await permit(
        hass,
        hub_entity(hass, entry, "switch", "permit"),
        hass_admin_user if admin else None,
    )
    assert entry.runtime_data.approvals.permit_open


async def test_a_user_who_is_no_admin_cannot_turn_signatures_off(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    household_user: User,
    hass_admin_user: User,
) -> None:
    key = KeyPair.generate()
    entry.runtime_data.approvals.set_permit(True)
    await register_signed(hass, SENSOR, key)
    entry.runtime_data.approvals.set_permit(False)
    await data(hass, VICTIM, VICTIM, key, 20.0)
    select = hub_entity(hass, entry, "select", "security_mode")
    with pytest.raises(Unauthorized):
        await select_mode(hass, select, "off", household_user)
    assert "security_mode" not in entry.options
    await data(hass, VICTIM, VICTIM, None, 99.0)  # forged, unsigned
    assert victim_temperature(entry) == 20.0
    await select_mode(hass, select, "enforce", hass_admin_user)
    assert entry.options["security_mode"] == "enforce"


class Player(MediaPlayerEntity):
    """A plain media player of another integration."""

    _attr_name = "Bedroom"
    _attr_state = MediaPlayerState.IDLE
    _attr_supported_features = MediaPlayerEntityFeature.PLAY_MEDIA

    async def async_play_media(self, media_type: str, media_id: str, **kw: Any) -> None:
        """Play it."""
        self._attr_media_content_id = media_id
        self.async_write_ha_state()


async def test_announce_plays_only_where_its_caller_may(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt_mock: MqttMockHAClient,
    hass_read_only_user: User,
    hass_admin_user: User,
) -> None:
    assert await async_setup_component(hass, "media_player", {})
    await hass.data[DATA_INSTANCES]["media_player"].async_add_entities([Player()])
    await hass.async_block_till_done()
    player = "media_player.bedroom"

    async def announce(user: User) -> Any:
        return await hass.services.async_call(
            DOMAIN, "announce", {"entity_id": player, "media_url": f"by-{user.name}"},
            blocking=True, return_response=True, context=Context(user_id=user.id),
        )  # fmt: skip

    with pytest.raises(Unauthorized):
        await announce(hass_read_only_user)
    idle = hass.states.get(player)
    assert idle is not None
    assert idle.attributes.get("media_content_id") is None
    assert await announce(hass_admin_user) == {"players": [player]}
    played = hass.states.get(player)
    assert played is not None
    assert played.attributes["media_content_id"] == f"by-{hass_admin_user.name}"
    assert played.context.user_id == hass_admin_user.id
