"""A speaker's playback commands and reports, as docs/protocol.md's Speakers section says."""

from __future__ import annotations

from typing import Any

import pytest

from alicia_bus.errors import ProtocolError
from alicia_bus.speaker import Action, Playback, PlaybackCommand, State

URL = "http://192.0.2.10:8123/api/tts_proxy/abc.mp3"


@pytest.mark.parametrize(
    "command",
    [
        PlaybackCommand.play_media(URL, announce=True, volume=0.4),
        PlaybackCommand.play_media(URL),
        PlaybackCommand(Action.MUTE, muted=True),
        PlaybackCommand(Action.PAUSE),
        PlaybackCommand(Action.RESUME),
        PlaybackCommand(Action.STOP),
    ],
)
def test_a_command_reads_back_as_sent(command: PlaybackCommand) -> None:
    assert PlaybackCommand.parse(command.payload) == command


def test_play_media_payload() -> None:
    assert PlaybackCommand.play_media(URL, announce=True, volume=1).payload == {
        "capability": "audio_playback", "action": "play_media",
        "params": {"url": URL, "announce": True, "volume": 1.0},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"capability": "light", "action": "stop"}, "capability"),
        ({"capability": "audio_playback", "action": "rewind"}, "action"),
        ({"capability": "audio_playback", "action": "stop", "params": []}, "params"),
        ({"capability": "audio_playback", "action": "play_media", "params": {}}, "params.url"),
        ({"capability": "audio_playback", "action": "play_media",
          "params": {"url": "file:///etc/passwd"}}, "params.url"),
        ({"capability": "audio_playback", "action": "play_media",
          "params": {"url": "http://a/\n"}}, "params.url"),
        ({"capability": "audio_playback", "action": "play_media",
          "params": {"url": "http://" + "a" * 2048}}, "params.url"),
        ({"capability": "audio_playback", "action": "play_media",
          "params": {"url": URL, "announce": "yes"}}, "params.announce"),
        ({"capability": "audio_playback", "action": "play_media",
          "params": {"url": URL, "volume": 40}}, "params.volume"),
        ({"capability": "audio_playback", "action": "play_media",
          "params": {"url": URL, "volume": True}}, "params.volume"),
        ({"capability": "audio_playback", "action": "mute", "params": {}}, "params.muted"),
    ],
)  # fmt: skip
def test_a_wrong_command_is_refused_by_name(payload: dict[str, Any], says: str) -> None:
    with pytest.raises(ProtocolError) as error:
        PlaybackCommand.parse(payload)
    assert error.value.code == "invalid_field"
    assert str(error.value).startswith(says)


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("playing", Playback(State.PLAYING)),
        ({"state": "paused", "muted": True, "media_url": URL}, Playback(State.PAUSED, True, URL)),
        ({"state": "loud", "muted": "no", "media_url": 3}, Playback()),
        (["idle"], Playback()),
        (None, Playback()),
    ],
)  # fmt: skip
def test_a_report_reads_what_it_says_clearly(value: Any, read: Playback) -> None:
    assert Playback.read(value) == read


def test_a_report_as_a_speaker_sends_it() -> None:
    assert Playback().value == {"state": "idle"}
    assert Playback(State.PLAYING, False, URL).value == {
        "state": "playing", "muted": False, "media_url": URL,
    }  # fmt: skip
    assert Playback.read(Playback(State.PAUSED, True).value) == Playback(
        State.PAUSED, True
    )
