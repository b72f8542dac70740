"""An announcement through HA's real sonos integration, faked only at the network edge.

The speaker's UPnP side is a SoCo stand-in (as HA core's own Sonos tests do it);
its audio-clip side is a real TLS websocket server (tests/fake_sonos.py) that
sonos-websocket connects to, exactly as it connects to a speaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import json
from pathlib import Path
import random
import subprocess
import sys
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

from homeassistant.components import sonos as sonos_component
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
import pytest_socket
from soco import SoCo
from soco.exceptions import SoCoUPnPException

from custom_components.alicia.const import DOMAIN
from tests.conftest import ROOT

from .helpers import SENSOR, VOICE, register_keyed, send_keyed, setup_alicia

PLAYER_ID = "RINCON_000E58A0123401400"
TRACK = {
    "title": "So What",
    "artist": "Miles Davis",
    "album": "Kind of Blue",
    "album_art": "",
    "position": "0:01:12",
    "playlist_position": "3",
    "duration": "0:09:22",
    "uri": "x-file-cifs://nas/music/kind_of_blue/01.flac",
    "metadata": "NOT_IMPLEMENTED",
}


@pytest.fixture
def speaker_host(tmp_path: Path, socket_enabled: None) -> Iterator[tuple[str, Path]]:
    """The speaker's websocket, on a loopback address of its own (the port is fixed: 1443)."""
    host = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    pytest_socket.socket_allow_hosts([host, "127.0.0.1"], allow_unix_socket=True)
    record = tmp_path / "sonos_commands.jsonl"
    record.touch()
    process = subprocess.Popen(
        [sys.executable, "tests/fake_sonos.py", "--host", host, "--player-id", PLAYER_ID,
         "--record", str(record)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "listening"
        yield host, record
    finally:
        process.terminate()
        process.wait(5)


class Event:
    """A UPnP event as soco delivers it."""

    def __init__(self, service: Service, variables: dict[str, Any]) -> None:
        self.sid = f"uuid:{PLAYER_ID}_sub0000000001"
        self.seq = "0"
        self.timestamp = 0.0
        self.service = service
        self.variables = variables


class Subscription:
    """A UPnP event subscription; the topology one sends its first event, as a speaker does."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.unsubscribe = AsyncMock()
        self.event_listener = MagicMock(address=("127.0.0.1", 1400))
        self._callback: Callable[[Event], None] | None = None

    @property
    def callback(self) -> Callable[[Event], None] | None:
        return self._callback

    @callback.setter
    def callback(self, callback: Callable[[Event], None]) -> None:
        first = self._callback is None
        self._callback = callback
        if first and self.service.service_type == "ZoneGroupTopology":
            self.service.loop.call_soon_threadsafe(callback, Event(self.service, {}))


class Service:
    """One UPnP service of the speaker."""

    def __init__(self, service_type: str) -> None:
        self.service_type = service_type
        self.loop = asyncio.get_running_loop()
        self.subscribe = AsyncMock(side_effect=lambda **_: Subscription(self))


class Favorites(list[Any]):
    """The speaker's (empty) favorites, as the music library returns them."""

    update_id = 1


class FakeSoCo(MagicMock):
    """The speaker's UPnP side, playing music."""

    @property
    def visible_zones(self) -> set[FakeSoCo]:
        return {self}


def fake_soco(host: str) -> FakeSoCo:
    soco = FakeSoCo(name="Kitchen Sonos")
    soco.mock_add_spec(SoCo)
    soco.ip_address = host
    soco.uid = PLAYER_ID
    soco.household_id = "Sonos_fake_household"
    soco.boot_seqnum = 1
    soco.play_mode = "NORMAL"
    soco.volume = 22
    soco.mute = False
    # An Era 100: the music controls, none of a home theater's.
    soco.bass, soco.treble, soco.balance = 0, 0, (100, 100)
    soco.loudness, soco.cross_fade, soco.status_light, soco.buttons_enabled = (
        True,
        False,
        True,
        True,
    )
    for absent in ("audio_delay", "sub_crossover", "sub_gain", "surround_level",
                   "music_surround_level", "surround_mode", "night_mode", "dialog_level",
                   "speech_enhance_enabled", "sub_enabled", "surround_enabled",
                   "soundbar_audio_input_format", "mic_enabled"):  # fmt: skip
        setattr(soco, absent, None)
    soco.get_speaker_info.return_value = {
        "zone_name": "Kitchen", "uid": PLAYER_ID, "model_name": "Era 100",
        "model_number": "S39", "hardware_version": "1.42.1.7-1.0",
        "software_version": "84.1-58250", "mac_address": "00-0E-58-A0-12-34",
        "display_version": "16.4",
    }  # fmt: skip
    soco.get_battery_info.side_effect = OSError("no battery")
    soco.get_current_transport_info.return_value = {
        "current_transport_state": "PLAYING"
    }
    soco.get_current_track_info.return_value = dict(TRACK)
    soco.music_source_from_uri = SoCo.music_source_from_uri
    soco.music_library = MagicMock()
    soco.music_library.get_sonos_favorites.return_value = Favorites()
    soco.all_zones = {soco}
    soco.group.coordinator = soco
    soco.group.members = {soco}
    soco.avTransport = Service("AVTransport")
    soco.renderingControl = Service("RenderingControl")
    soco.zoneGroupTopology = Service("ZoneGroupTopology")
    soco.contentDirectory = Service("ContentDirectory")
    soco.deviceProperties = Service("DeviceProperties")
    # An Era 100 has no TV input: asked for TV autoplay, it answers with a UPnP error.
    no_tv = SoCoUPnPException("UPnP Error 402", "402", "<error/>", "Invalid Args")
    soco.deviceProperties.GetAutoplayRoomUUID = MagicMock(side_effect=no_tv)
    soco.deviceProperties.GetAutoplayLinkedZones = MagicMock(side_effect=no_tv)
    soco.alarmClock = Service("AlarmClock")
    soco.alarmClock.ListAlarms = MagicMock(
        return_value={
            "CurrentAlarmListVersion": f"{PLAYER_ID}:1",
            "CurrentAlarmList": "<Alarms/>",
        }
    )
    return soco


@pytest.fixture
async def sonos(
    hass: HomeAssistant, speaker_host: tuple[str, Path]
) -> AsyncIterator[tuple[FakeSoCo, Path]]:
    host, record = speaker_host
    soco = fake_soco(host)
    await async_process_ha_core_config(hass, {"internal_url": "http://192.0.2.10:8123"})
    with (
        patch.object(sonos_component, "SoCo", return_value=soco),
        patch.object(sonos_component, "ZGS_SUBSCRIPTION_TIMEOUT", 0.05),
        patch("homeassistant.components.ssdp.Scanner._async_start_ssdp_listeners"),
        patch("homeassistant.components.ssdp.Scanner._async_stop_ssdp_listeners"),
        patch("homeassistant.components.ssdp.Scanner.async_scan"),
        patch("homeassistant.components.ssdp.Server._async_start_upnp_servers"),
        patch("homeassistant.components.ssdp.Server._async_stop_upnp_servers"),
    ):
        entry = MockConfigEntry(domain="sonos", title="Sonos")
        entry.add_to_hass(hass)
        assert await async_setup_component(
            hass, "sonos", {"sonos": {"media_player": {"hosts": [host]}}}
        )
        await hass.async_block_till_done()
        yield soco, record
        # HA's sonos never closes a speaker's audio-clip websocket (it ends with
        # the process); close it here, or its request timer outlives the test.
        for speaker in entry.runtime_data.discovered.values():
            if speaker.websocket is not None:
                await speaker.websocket.close()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def clip_commands(record: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in record.read_text().splitlines()]


async def test_announcement_plays_as_a_sonos_audio_clip(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, sonos: tuple[FakeSoCo, Path]
) -> None:
    soco, record = sonos
    # Its entity id depends on HA's naming rules (newer HA adds the area); look it up.
    (player,) = [
        e.entity_id
        for e in er.async_entries_for_config_entry(
            er.async_get(hass), hass.config_entries.async_entries("sonos")[0].entry_id
        )
        if e.domain == "media_player"
    ]
    state = hass.states.get(player)
    assert state is not None, hass.states.async_entity_ids()
    assert state.state == "playing"
    assert state.attributes["media_title"] == "So What"
    kitchen = ar.async_get(hass).async_get_or_create("Kitchen")
    # The speaker's device sits in the kitchen (where the sensor asking for it is).
    speaker = er.async_get(hass).async_get(player)
    assert speaker is not None
    assert speaker.device_id is not None
    dr.async_get(hass).async_update_device(speaker.device_id, area_id=kitchen.id)

    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "media_source", {})
    assert await async_setup_component(hass, "tts", {"tts": {"platform": "demo"}})
    await setup_alicia(hass, {"approval": "auto", "announce_volume": 0.35})
    # The kitchen sensor announces (its capability): the app's bridge asks for its room.
    await register_keyed(
        hass, {**SENSOR, "capabilities": [*SENSOR["capabilities"], "announce"]}
    )
    await register_keyed(hass, VOICE)

    # The action: the speaker is told to play the clip at the asked volume.
    await hass.services.async_call(
        DOMAIN, "announce", {"entity_id": player, "message": "Dinner is ready.", "volume": 0.6},
        blocking=True,
    )  # fmt: skip
    # The topic, for the kitchen sensor's room: the options' default volume.
    await send_keyed(
        hass, "alicia/devices/speakers/announce", "alicia-voice",
        {"message": "The oven is hot.", "target": {"device_id": "kitchen_sensor"}},
    )  # fmt: skip
    await hass.async_block_till_done()

    commands = clip_commands(record)
    assert [c["command"] for c in commands] == [
        {"namespace": "audioClip:1", "command": "loadAudioClip", "playerId": PLAYER_ID}
    ] * 2
    first, second = (c["options"] for c in commands)
    assert first["volume"] == 60
    assert second["volume"] == 35
    for options in (first, second):
        assert options["streamUrl"].startswith("http://192.0.2.10:8123/api/tts_proxy/")
    # The music was never touched: Sonos ducks it for the clip and resumes it itself.
    for call in (
        "play_uri",
        "stop",
        "pause",
        "clear_queue",
        "add_to_queue",
        "play_from_queue",
    ):
        assert not getattr(soco, call).called, call
    assert soco.volume == 22
    state = hass.states.get(player)
    assert state is not None
    assert state.state == "playing"
    assert state.attributes["media_title"] == "So What"
