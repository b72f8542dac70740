"""A speaker's playback: the commands it obeys on `devices/{id}/command` and what it reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from .errors import ProtocolError
from .numbers import number
from .text import clean_text, excerpt, optional_text
from .topics import is_identifier

# The capability the playback commands name, and the key its state is reported under.
PLAYBACK = "audio_playback"
# Capabilities whose value is a speaker's volume (a number, `min` to `max`).
VOLUMES = frozenset({"volume", "volume_control"})
MAX_URL = 2048
# An announcement's text (a voice answer, say) and its target's names.
MAX_MESSAGE = 10_000
MAX_NAME = 255


class Action(StrEnum):
    """What a speaker's audio_playback is asked to do."""

    PLAY_MEDIA = "play_media"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    MUTE = "mute"


class State(StrEnum):
    """What a speaker says it is doing."""

    IDLE = "idle"
    PLAYING = "playing"
    PAUSED = "paused"


def _url(value: Any, path: str = "params.url") -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise ProtocolError(
            "invalid_field", f"{path}: must be text of 1 to {MAX_URL} characters"
        )
    try:
        parts = urlsplit(value)
    except ValueError:  # brackets that hold no IPv6 address
        parts = urlsplit("")
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or not value.isprintable()
    ):
        raise ProtocolError(
            "invalid_field", f"{path}: {excerpt(value)} is no http(s) address"
        )
    return value


def _fraction(value: Any) -> float | None:
    if value is None:
        return None
    return number(value, "params.volume", low=0, high=1, what="0 to 1")


@dataclass(frozen=True, slots=True)
class PlaybackCommand:
    """One command to audio_playback: play a URL (maybe as an announcement), pause, resume, stop, mute."""

    action: Action
    url: str | None = None
    announce: bool = False
    volume: float | None = None
    muted: bool = False

    @classmethod
    def play_media(
        cls, url: str, *, announce: bool = False, volume: float | None = None
    ) -> PlaybackCommand:
        """Play url (an http(s) address the speaker fetches); volume 0 to 1 for this clip only."""
        return cls(Action.PLAY_MEDIA, _url(url), announce, _fraction(volume))

    @property
    def params(self) -> dict[str, Any]:
        """The command's `params`, as sent."""
        if self.action is Action.PLAY_MEDIA:
            params: dict[str, Any] = {"url": self.url, "announce": self.announce}
            if self.volume is not None:
                params["volume"] = self.volume
            return params
        if self.action is Action.MUTE:
            return {"muted": self.muted}
        return {}

    @property
    def payload(self) -> dict[str, Any]:
        """The whole command payload."""
        return {
            "capability": PLAYBACK,
            "action": str(self.action),
            "params": self.params,
        }

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> PlaybackCommand:
        """A device reads its command: ProtocolError names what is wrong."""
        if payload.get("capability") != PLAYBACK:
            raise ProtocolError("invalid_field", f"capability: must be {PLAYBACK}")
        try:
            action = Action(str(payload.get("action")))
        except ValueError:
            raise ProtocolError(
                "invalid_field", f"action: must be one of {', '.join(Action)}"
            ) from None
        params = payload.get("params")
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise ProtocolError("invalid_field", "params: must be an object")
        if action is Action.PLAY_MEDIA:
            announce = params.get("announce", False)
            if not isinstance(announce, bool):
                raise ProtocolError(
                    "invalid_field", "params.announce: must be true or false"
                )
            return cls(
                action,
                _url(params.get("url")),
                announce,
                _fraction(params.get("volume")),
            )
        if action is Action.MUTE:
            if not isinstance(muted := params.get("muted"), bool):
                raise ProtocolError(
                    "invalid_field", "params.muted: must be true or false"
                )
            return cls(action, muted=muted)
        return cls(action)


@dataclass(frozen=True, slots=True)
class Playback:
    """A speaker's reported audio_playback value: a state, or {"state", "muted", "media_url"}."""

    state: State | None = None
    muted: bool | None = None
    media_url: str | None = None

    @property
    def value(self) -> dict[str, Any]:
        """As a speaker reports it."""
        value: dict[str, Any] = {"state": str(self.state or State.IDLE)}
        if self.muted is not None:
            value["muted"] = self.muted
        if self.media_url is not None:
            value["media_url"] = self.media_url
        return value

    @classmethod
    def read(cls, value: Any) -> Playback:
        """What a report says; what it does not say clearly is unknown."""
        if isinstance(value, str):
            value = {"state": value}
        if not isinstance(value, dict):
            return cls()
        state = value.get("state")
        muted = value.get("muted")
        url = value.get("media_url")
        return cls(
            State(state) if state in set(State) else None,
            muted if isinstance(muted, bool) else None,
            url if isinstance(url, str) and len(url) <= MAX_URL else None,
        )


@dataclass(frozen=True, slots=True)
class AnnounceRequest:
    """A device's announcement (`devices/speakers/announce`): what to say or play, and where."""

    message: str | None
    media_url: str | None
    language: str | None
    # 0 to 1; another value is ignored (the player's own volume), never sent on.
    volume: float | None
    entity_id: str | None = None
    area: str | None = None
    device_id: str | None = None
    location: str | None = None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> AnnounceRequest:
        """Validate: text or an http(s) media_url (no media-source://), a target of texts."""
        message = optional_text(payload, "message", longest=MAX_MESSAGE, lines=True)
        media = payload.get("media_url")
        media_url = None if media is None else _url(media, "payload.media_url")
        if not (message or "").strip() and media_url is None:
            raise ProtocolError(
                "missing_field", "payload.message or payload.media_url is required"
            )
        target = payload.get("target")
        target = {} if target is None else target
        if not isinstance(target, dict):
            raise ProtocolError("invalid_field", "payload.target: must be an object")
        names: dict[str, str] = {}
        for name in ("entity_id", "area", "location"):
            if (value := target.get(name)) is not None:
                path = f"payload.target.{name}"
                names[name] = clean_text(value, path, longest=MAX_NAME, shortest=1)
        device_id = target.get("device_id")
        if device_id is not None and not is_identifier(device_id):
            raise ProtocolError(
                "invalid_field", "payload.target.device_id: must be a device id"
            )
        volume = payload.get("volume")
        try:
            volume = _fraction(volume)
        except ProtocolError:
            volume = None
        return cls(
            message, media_url, optional_text(payload, "language", longest=64), volume,
            names.get("entity_id"), names.get("area"), device_id, names.get("location"),
        )  # fmt: skip
