"""A voice asks Assist to open the permit window: refused, with a quiet log and no success where HA can tell."""

from __future__ import annotations

import asyncio
from functools import partial
import gc
import logging

from homeassistant.auth.models import User
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.const import STATE_OFF, __version__ as HA_VERSION
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers import intent
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alicia.entity import read_if_ours

from .helpers import hub_entity

# HA 2026.2 counts an intent's service call done after 0.2 s without reading its
# error, so it answers "Turned on"; later releases (HA's PR #167817) answer with it.
HA_READS_INTENT_CALLS = tuple(map(int, HA_VERSION.split(".")[:2])) > (2026, 2)


async def test_a_voice_command_is_refused_without_a_traceback(
    hass: HomeAssistant,
    agent_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """HassTurnOn on the exposed permit switch: it stays off, and no error is left unread."""
    permit = hub_entity(hass, agent_entry, "switch", "permit")
    async_expose_entity(hass, "conversation", permit, True)
    state = hass.states.get(permit)
    assert state is not None
    result = await conversation.async_converse(
        hass, f"turn on {state.attributes['friendly_name']}", None, Context(),
        language="en", agent_id=conversation.HOME_ASSISTANT_AGENT,
    )  # fmt: skip
    await hass.async_block_till_done()
    gc.collect()  # a task's unread error is reported when the task is collected
    await hass.async_block_till_done()
    assert "never retrieved" not in caplog.text
    state = hass.states.get(permit)
    assert state is not None
    assert state.state == STATE_OFF
    assert not agent_entry.runtime_data.approvals.permit_open
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    if HA_READS_INTENT_CALLS:
        assert result.response.response_type is intent.IntentResponseType.ERROR
        # HA's own report of the failed call, not ours
        assert {r.name for r in errors} <= {
            "homeassistant.helpers.intent",
            "homeassistant.components.conversation.default_agent",
        }
    else:
        assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
        assert not errors
        assert f"Refused Assist's call on {permit}" in caplog.text


async def test_an_admin_still_opens_the_exposed_permit_window(
    hass: HomeAssistant, agent_entry: MockConfigEntry, hass_admin_user: User
) -> None:
    """Exposure refuses only calls without a user: an admin in HA's UI still switches it."""
    permit = hub_entity(hass, agent_entry, "switch", "permit")
    async_expose_entity(hass, "conversation", permit, True)
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": permit}, blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )  # fmt: skip
    assert agent_entry.runtime_data.approvals.permit_open


async def test_a_refusal_reads_only_its_own_error(hass: HomeAssistant) -> None:
    """Another intent call that ends meanwhile keeps its error reported as unread; a cancelled one is left alone."""
    ours, theirs = Unauthorized(), ValueError("their call")
    reported: list[BaseException] = []
    handler = hass.loop.get_exception_handler()
    hass.loop.set_exception_handler(
        lambda _, context: reported.append(context["exception"])
    )

    async def fail(error: BaseException) -> None:
        raise error

    tasks = [hass.loop.create_task(fail(ours)), hass.loop.create_task(fail(theirs))]
    tasks.append(hass.loop.create_task(asyncio.sleep(1)))
    for task in tasks:
        task.add_done_callback(partial(read_if_ours, ours))
    tasks[2].cancel()
    await asyncio.wait(tasks)
    await asyncio.sleep(0)
    del tasks, task
    gc.collect()
    hass.loop.set_exception_handler(handler)
    assert reported == [theirs]
