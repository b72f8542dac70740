"""A device's announcement never has HA fetch an address on its own host or network."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.const import DOMAIN

from .helpers import register_keyed, setup_alicia
from .test_announce import ANNOUNCING, DOORBELL, answer_to, assert_refused

PLAYER = "media_player.esphome_speaker"
TARGET = {"target": {"entity_id": PLAYER}}


@pytest.fixture
async def calls(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    dns: dict[str, list[str] | OSError],
) -> list[ServiceCall]:
    """An exposed player of another integration (ffmpeg on HA's host fetches its URLs); the doorbell approved."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "media_player", {})
    await hass.async_block_till_done()
    played: list[ServiceCall] = async_mock_service(hass, "media_player", "play_media")
    er.async_get(hass).async_get_or_create(
        "media_player", "esphome", "speaker", suggested_object_id="esphome_speaker"
    )
    hass.states.async_set(PLAYER, "idle", {"supported_features": int(ANNOUNCING)})
    await setup_alicia(hass, {"approval": "auto"})
    await register_keyed(hass, DOORBELL)
    return played


@pytest.mark.parametrize(
    "media_url",
    [
        "http://127.0.0.1:8123/api/hassio/addons",
        "http://10.0.0.5/admin",
        "http://supervisor/core/info",
        "http://localhost./x.mp3",
        "http://homeassistant:8123/x.mp3",
        "http://[::1]/x.mp3",
        "http://[::ffff:192.168.1.1]/x.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:4357/x.mp3",
        "http://127.1/x.mp3",
        "http://0x7f000001.0x1/x.mp3",
        "https://nas.local/x.mp3",
        "http://user@router.home.arpa/x.mp3",
        "http://home.arpa/x.mp3",
        "http://radio.example@192.168.1.1/x.mp3",
        "http://[64:ff9b::a00:5]/x.mp3",  # NAT64 of 10.0.0.5
        "http://[fd00::1]/x.mp3",
        "http://100.101.102.103/x.mp3",  # carrier NAT, VPNs
        "http://bücher.example/x.mp3",  # a spelling the resolver may read otherwise
    ],
)
async def test_an_announcer_cannot_have_ha_fetch_an_internal_address(
    hass: HomeAssistant,
    calls: list[ServiceCall],
    mqtt_mock: MqttMockHAClient,
    media_url: str,
) -> None:
    """Refused before any player is asked: a player would fetch it from HA's host."""
    answer = await answer_to(
        hass, mqtt_mock, "doorbell", TARGET | {"media_url": media_url}
    )
    assert_refused(answer, calls, "only public addresses are played for devices")


@pytest.mark.parametrize(
    "media_url",
    [
        "https://radio.example.org/stream.mp3",
        "http://8.8.8.8/x.mp3",
        "http://[2001:4860::8888]/x.mp3",
        "http://xn--bcher-kva.example/x.mp3",
    ],
)
async def test_a_public_address_still_plays(
    hass: HomeAssistant,
    calls: list[ServiceCall],
    mqtt_mock: MqttMockHAClient,
    media_url: str,
) -> None:
    """A device's public URL plays as it is."""
    answer = await answer_to(
        hass, mqtt_mock, "doorbell", TARGET | {"media_url": media_url}
    )
    assert answer == {"status": "played", "players": [PLAYER]}
    assert [c.data["media_content_id"] for c in calls] == [media_url]


@pytest.mark.parametrize(
    "media_url",
    [
        # ffmpeg reads 127.0.0.1:80; Python before 3.13.2 and yarl 1.22 the brackets.
        "http://127.0.0.1:80[2001:db8::1]/x.mp3",
        "http://[x/",
        "http://]/",
        "http://[::1]@/x",
    ],
)
async def test_an_address_parsers_read_apart_is_refused_not_failed(
    hass: HomeAssistant,
    calls: list[ServiceCall],
    mqtt_mock: MqttMockHAClient,
    media_url: str,
) -> None:
    """Never played; refused or invalid by the Python's own reading, never an "internal error" (urlsplit's ValueError escaped)."""
    answer = await answer_to(
        hass, mqtt_mock, "doorbell", TARGET | {"media_url": media_url}
    )
    assert answer["status"] == "failed"
    assert answer["error"]["code"] in ("refused", "invalid_field")
    assert calls == []


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        (["127.0.0.1"], '"rebind.attacker.example" resolves to "127.0.0.1"'),
        (["192.168.1.1"], '"rebind.attacker.example" resolves to "192.168.1.1"'),
        (["::1"], '"rebind.attacker.example" resolves to "::1"'),
        (["::ffff:127.0.0.1"], '"rebind.attacker.example" resolves to "::ffff:127.0.0.1"'),
        (["169.254.169.254"], '"rebind.attacker.example" resolves to "169.254.169.254"'),
        (["93.184.215.14", "10.0.0.5"], '"rebind.attacker.example" resolves to "10.0.0.5"'),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
         '"rebind.attacker.example" does not resolve'),
        (["93.184.215.14", "not an address"],
         '"rebind.attacker.example" resolves to an unreadable address'),
    ],
    ids=["loopback", "private", "ipv6-loopback", "ipv4-mapped-loopback", "link-local",
         "public-and-private", "no-answer", "unreadable"],
)  # fmt: skip
async def test_a_public_name_that_resolves_inside_is_refused(
    hass: HomeAssistant,
    calls: list[ServiceCall],
    mqtt_mock: MqttMockHAClient,
    dns: dict[str, list[str] | OSError],
    answers: list[str] | OSError,
    why: str,
) -> None:
    """The attack: the device's own public-looking name answers an address on HA's host or network."""
    dns["rebind.attacker.example"] = answers
    url = "http://rebind.attacker.example/x.mp3"
    answer = await answer_to(hass, mqtt_mock, "doorbell", TARGET | {"media_url": url})
    assert_refused(answer, calls, f"media_url: {why}")
    assert "only public addresses are played for devices" in answer["error"]["message"]


async def test_a_name_that_does_not_resolve_in_time_is_refused(
    hass: HomeAssistant,
    calls: list[ServiceCall],
    mqtt_mock: MqttMockHAClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A resolver that hangs is no way around the check: refused after the timeout."""

    async def hangs(*_: Any, **__: Any) -> list[Any]:
        await asyncio.sleep(60)
        return []

    monkeypatch.setattr(hass.loop, "getaddrinfo", hangs)
    monkeypatch.setattr(
        "custom_components.alicia.media_urls.RESOLVE_TIMEOUT", 0.05, raising=False
    )
    url = "http://slow.attacker.example/x.mp3"
    answer = await answer_to(hass, mqtt_mock, "doorbell", TARGET | {"media_url": url})
    assert_refused(
        answer, calls, '"slow.attacker.example" did not resolve within 0.05 s'
    )


async def test_a_name_with_only_public_addresses_plays(
    hass: HomeAssistant,
    calls: list[ServiceCall],
    mqtt_mock: MqttMockHAClient,
    dns: dict[str, list[str] | OSError],
) -> None:
    """A name whose every address is public plays as it is."""
    dns["radio.example.org"] = [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]
    url = "https://radio.example.org/stream.mp3"
    answer = await answer_to(hass, mqtt_mock, "doorbell", TARGET | {"media_url": url})
    assert answer == {"status": "played", "players": [PLAYER]}
    assert [c.data["media_content_id"] for c in calls] == [url]


async def test_the_users_own_action_plays_an_internal_address(
    hass: HomeAssistant, calls: list[ServiceCall]
) -> None:
    """The user's alicia.announce keeps HA's rules, not a device's."""
    await hass.services.async_call(
        DOMAIN, "announce", {"entity_id": PLAYER, "media_url": "http://10.0.0.5/bell.mp3"},
        blocking=True,
    )  # fmt: skip
    assert [c.data["media_content_id"] for c in calls] == ["http://10.0.0.5/bell.mp3"]
