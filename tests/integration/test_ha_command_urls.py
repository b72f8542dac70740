"""ha/command: an address in a command's data is one however a player's parser reads it."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.alicia.ha_commands import MAX_URLS

from .helpers import HALL, SENSOR, command_answer, register_keyed


@pytest.fixture
async def entry_options(hass: HomeAssistant) -> dict[str, Any]:
    """Devices approved as they register."""
    assert await async_setup_component(hass, "homeassistant", {})
    return {"approval": "auto"}


@pytest.fixture(autouse=True)
async def sensor(hass: HomeAssistant, entry: MockConfigEntry, dns: Any) -> None:
    """The kitchen sensor approved, the device that sends the commands; names resolve publicly."""
    await register_keyed(hass, SENSOR)


async def play(hass: HomeAssistant, mqtt_mock: MqttMockHAClient, data: Any) -> Any:
    """The answer to a play_media command of this data, from the kitchen sensor."""
    payload = {"action": "media_player.play_media", "target": {"entity_id": HALL}}
    return await command_answer(hass, mqtt_mock, payload | {"data": data})


@pytest.mark.parametrize(
    "content",
    [
        "http:127.0.0.1:8123/api/states",  # ffmpeg and browsers: http://127.0.0.1:8123
        "http:/10.0.0.5/camera.mjpg",  # ffmpeg and browsers
        "http:\\\\192.168.1.1\\admin",  # browsers (a Cast receiver)
        "http:\t//127.0.0.1:4357/",  # yarl (aiohttp), urlsplit and browsers
        "HTTP:/\n/[::1]:8123/",
        " h\tttps:router.lan/admin",  # browsers drop blanks and tabs first
        "http://127.0.0.1:80[2001:db8::1]/x.mp3",  # ffmpeg: 127.0.0.1; Python < 3.13.2: the brackets
        "\t//127.0.0.1:4357/",  # yarl: host 127.0.0.1; browsers: relative to theirs
        "\\\\10.0.0.5\\x.mp3",  # browsers: //10.0.0.5/x.mp3
    ],
    ids=["no-slashes", "one-slash", "backslashes", "tab", "newline", "blanks",
         "text-before-brackets", "scheme-relative", "scheme-relative-backslashes"],
)  # fmt: skip
async def test_an_address_spelled_for_another_parser_is_still_checked(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    play_media_calls: list[ServiceCall],
    content: str,
) -> None:
    """The attack: no "://" as written, or an authority Python reads apart from ffmpeg; the player fetched HA's network."""
    answer = await play(hass, mqtt_mock, {"media_content_id": content})
    assert answer["status"] == "refused"
    assert "not for devices" in answer["error"]["message"]
    assert play_media_calls == []


@pytest.mark.parametrize(
    "content", ["http://[::1]@/x.mp3", "\t//[::1]@/x.mp3", "http://a[]@/x.mp3"]
)
async def test_an_address_yarl_cannot_read_is_refused_not_failed(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    play_media_calls: list[ServiceCall],
    content: str,
) -> None:
    """yarl 1.25 raised IndexError for brackets and no host: it escaped the check (a logged traceback)."""
    answer = await play(hass, mqtt_mock, {"media_content_id": content})
    assert answer["status"] == "refused"
    assert play_media_calls == []


async def test_addresses_without_slashes_count_toward_the_bound(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    play_media_calls: list[ServiceCall],
) -> None:
    """Each is resolved on HA's loop like any other address: at most MAX_URLS."""
    names = [f"http:\t//slow{n}.attacker.example/a.mp3" for n in range(MAX_URLS + 1)]
    answer = await play(hass, mqtt_mock, {"media_content_id": names[0], "extra": names})
    assert answer["status"] == "refused"
    assert answer["error"]["message"].startswith(f"{MAX_URLS + 2} addresses")
    assert play_media_calls == []


@pytest.mark.parametrize(
    "content",
    ["spotify:track:6rqhFgbbKwnb9MLmUQDhG6", "Note: the door", "12:30",
     "https://radio.example.org/stream.mp3"],
)  # fmt: skip
async def test_text_with_a_colon_is_no_address(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    play_media_calls: list[ServiceCall],
    content: str,
) -> None:
    """A player's own ids and plain text still pass; a public address plays."""
    answer = await play(hass, mqtt_mock, {"media_content_id": content})
    assert answer == {"status": "done"}
    assert [c.data["media_content_id"] for c in play_media_calls] == [content]
