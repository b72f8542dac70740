"""Assist carries no user: the hub's admin controls refuse it once exposed, while HA's own calls still go through."""

from __future__ import annotations

from collections.abc import Iterator
import gc

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .helpers import SENSOR, hub_entity, register


@pytest.fixture
def unretrieved(hass: HomeAssistant) -> Iterator[list[BaseException | None]]:
    """What the loop reports as never retrieved, instead of failing the test."""
    # HA 2026.2 leaves an intent's service call in the background and its error
    # unretrieved; later releases answer with it.
    seen: list[BaseException | None] = []
    handler = hass.loop.get_exception_handler()
    hass.loop.set_exception_handler(
        lambda _, context: seen.append(context.get("exception"))
    )
    yield seen
    gc.collect()
    hass.loop.set_exception_handler(handler)


async def test_a_voice_command_cannot_open_the_permit_window(
    hass: HomeAssistant,
    agent_entry: MockConfigEntry,
    unretrieved: list[BaseException | None],
) -> None:
    """Anyone at a satellite asks Assist to open it; the next stranger still waits for an admin."""
    permit = hub_entity(hass, agent_entry, "switch", "permit")
    async_expose_entity(hass, "conversation", permit, True)
    state = hass.states.get(permit)
    assert state is not None
    name = state.attributes["friendly_name"]
    await conversation.async_converse(
        hass, f"turn on {name}", None, Context(), language="en",
        agent_id=conversation.HOME_ASSISTANT_AGENT,
    )  # fmt: skip
    await hass.async_block_till_done()
    gc.collect()
    assert all(isinstance(error, Unauthorized) for error in unretrieved)
    assert not agent_entry.runtime_data.approvals.permit_open
    await register(hass, SENSOR)
    assert SENSOR["device_id"] not in agent_entry.runtime_data.roster.devices


@pytest.mark.parametrize("exposed", [True, False])
async def test_a_call_without_user_changes_the_security_mode_only_unexposed(
    hass: HomeAssistant, agent_entry: MockConfigEntry, exposed: bool
) -> None:
    """An automation changes the mode; the same user-less call is refused when Assist could make it."""
    select = hub_entity(hass, agent_entry, "select", "security_mode")
    async_expose_entity(hass, "conversation", select, exposed)
    call = hass.services.async_call(
        "select", "select_option", {"entity_id": select, "option": "enforce"},
        blocking=True, context=Context(),
    )  # fmt: skip
    if exposed:
        with pytest.raises(Unauthorized):
            await call
        assert "security_mode" not in agent_entry.options
    else:
        await call
        assert agent_entry.options["security_mode"] == "enforce"
