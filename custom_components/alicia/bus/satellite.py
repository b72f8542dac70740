"""A voice satellite on the bus: its runs, its audio chunks and their bounds, HA's events back."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import ProtocolError
from .numbers import number
from .speaker import MAX_URL
from .text import clean_text, optional_text
from .topics import is_identifier

# The capabilities that make a device a satellite: it hears and it plays.
MICROPHONE = "microphone"
# The one audio format of version 1: what HA's pipeline takes (16 kHz, 16-bit, mono).
RATE = 16_000
WIDTH = 2
CHANNELS = 1
BYTES_PER_SECOND = RATE * WIDTH * CHANNELS
# One chunk: at most 200 ms of audio (6,400 bytes, 8,536 in base64).
MAX_CHUNK_BYTES = BYTES_PER_SECOND // 5
_MAX_CHUNK_BASE64 = 4 * -(-MAX_CHUNK_BYTES // 3)
# A device may run ahead of real time by this much (audio it kept before the run).
PREROLL_SECONDS = 2.0
# No chunk for this long: the audio is lost, the run ends.
GAP_SECONDS = 2.0
MAX_SEQUENCE = 2**31 - 1


# A satellite's own wake words: at most this many offered, this many listened for at once.
MAX_WAKE_WORDS = 16
MAX_ACTIVE_WAKE_WORDS = 4


class StartStage(StrEnum):
    """Where HA's pipeline starts: on the device's wake word, or at HA's own detection."""

    WAKE_WORD = "wake_word"
    STT = "stt"


# The most audio one run may carry, by its start stage.
MAX_RUN_SECONDS = {StartStage.STT: 30.0, StartStage.WAKE_WORD: 300.0}


class EventType(StrEnum):
    """What HA tells a satellite about its run (`satellite/event`)."""

    WAKE_WORD = "wake_word"
    LISTENING = "listening"
    HEARD = "heard"
    TRANSCRIPT = "transcript"
    PROCESSING = "processing"
    ANSWER = "answer"
    PLAY = "play"
    ANNOUNCE = "announce"
    ERROR = "error"
    END = "end"
    # Not of a run: the wake words the user chose among the device's own.
    CONFIGURE = "configure"


def _run_id(payload: dict[str, Any]) -> str:
    if "run_id" not in payload:
        raise ProtocolError("missing_field", "payload.run_id is required")
    value = payload["run_id"]
    if not is_identifier(value):
        raise ProtocolError(
            "invalid_field", "payload.run_id: must match ^[a-z0-9][a-z0-9_-]{0,63}$"
        )
    return str(value)


@dataclass(frozen=True, slots=True)
class SatelliteRun:
    """A device opens a pipeline run: its id, where it starts, its audio format."""

    run_id: str
    start_stage: StartStage
    wake_word: str | None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> SatelliteRun:
        """Validate: the format must be 16 kHz, 16-bit mono PCM."""
        run_id = _run_id(payload)
        try:
            stage = StartStage(payload.get("start_stage", StartStage.STT))
        except ValueError as err:
            raise ProtocolError(
                "invalid_field",
                f"payload.start_stage: must be one of {', '.join(StartStage)}",
            ) from err
        audio = payload.get("format")
        if audio != {"rate": RATE, "width": WIDTH, "channels": CHANNELS}:
            raise ProtocolError(
                "invalid_field",
                f'payload.format: must be {{"rate": {RATE}, "width": {WIDTH}, '
                f'"channels": {CHANNELS}}}',
            )
        return cls(run_id, stage, optional_text(payload, "wake_word", longest=64))

    def payload(self) -> dict[str, Any]:
        """As sent."""
        sent: dict[str, Any] = {
            "run_id": self.run_id,
            "start_stage": str(self.start_stage),
            "format": {"rate": RATE, "width": WIDTH, "channels": CHANNELS},
        }
        if self.wake_word is not None:
            sent["wake_word"] = self.wake_word
        return sent


@dataclass(frozen=True, slots=True)
class SatelliteAudio:
    """One chunk of a run's audio: its place in the stream, the PCM, the stream's end."""

    run_id: str
    seq: int
    pcm: bytes
    end: bool

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> SatelliteAudio:
        """Validate; the chunk's length is checked before it is decoded."""
        run_id = _run_id(payload)
        what = f"an integer 0 to {MAX_SEQUENCE}"
        seq = int(
            number(
                payload.get("seq"),
                "payload.seq",
                high=MAX_SEQUENCE,
                low=0,
                integer=True,
                what=what,
            )
        )
        data = payload.get("data", "")
        if not isinstance(data, str) or len(data) > _MAX_CHUNK_BASE64:
            raise ProtocolError(
                "bad_audio",
                f"payload.data: base64 of at most {MAX_CHUNK_BYTES} bytes (200 ms)",
            )
        try:
            pcm = base64.b64decode(data, validate=True)
        except binascii.Error as err:
            raise ProtocolError("bad_audio", "payload.data: not base64") from err
        if len(pcm) % (WIDTH * CHANNELS) or len(pcm) > MAX_CHUNK_BYTES:
            raise ProtocolError(
                "bad_audio",
                f"payload.data: whole 16-bit samples, at most {MAX_CHUNK_BYTES} bytes",
            )
        end = payload.get("end", False)
        if not isinstance(end, bool):
            raise ProtocolError("invalid_field", "payload.end: must be true or false")
        return cls(run_id, seq, pcm, end)

    def payload(self) -> dict[str, Any]:
        """As sent."""
        sent: dict[str, Any] = {
            "run_id": self.run_id,
            "seq": self.seq,
            "data": base64.b64encode(self.pcm).decode(),
        }
        if self.end:
            sent["end"] = True
        return sent


@dataclass(frozen=True, slots=True)
class SatellitePlayed:
    """The device finished playing an answer or announcement (`run_id` names which)."""

    run_id: str

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> SatellitePlayed:
        """Validate."""
        return cls(_run_id(payload))


@dataclass(frozen=True, slots=True)
class SatelliteEvent:
    """What HA tells the satellite: an event of its run, maybe with text or a URL."""

    run_id: str
    type: EventType
    text: str | None = None
    url: str | None = None
    code: str | None = None
    # Played before `url` (an announcement's chime).
    preannounce_url: str | None = None
    # Once played, open a new run at `stt` (a conversation goes on, or a question waits).
    listen: bool = False
    # `configure`: the ids of the device's wake words to listen for.
    wake_words: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> SatelliteEvent:
        """Validate (the device's side)."""
        run_id = _run_id(payload)
        try:
            kind = EventType(str(payload.get("type")))
        except ValueError as err:
            raise ProtocolError(
                "invalid_field", f"payload.type: must be one of {', '.join(EventType)}"
            ) from err
        urls = [payload.get(name) for name in ("url", "preannounce_url")]
        for url in urls:
            if url is not None and (not isinstance(url, str) or len(url) > MAX_URL):
                raise ProtocolError("invalid_field", "payload.url: an http(s) address")
        listen = payload.get("listen", False)
        if not isinstance(listen, bool):
            raise ProtocolError("invalid_field", "payload.listen: true or false")
        words = payload.get("wake_words")
        if words is not None and not (
            isinstance(words, list)
            and len(words) <= MAX_WAKE_WORDS
            and all(is_identifier(word) for word in words)
        ):
            raise ProtocolError(
                "invalid_field", f"payload.wake_words: at most {MAX_WAKE_WORDS} ids"
            )
        return cls(
            run_id, kind,
            optional_text(payload, "text", longest=10_000, lines=True), urls[0],
            optional_text(payload, "code", longest=64), urls[1], listen,
            None if words is None else tuple(words),
        )  # fmt: skip

    def payload(self) -> dict[str, Any]:
        """As sent, without the fields it has not."""
        sent: dict[str, Any] = {"run_id": self.run_id, "type": str(self.type)}
        for name in ("text", "url", "code", "preannounce_url"):
            if (value := getattr(self, name)) is not None:
                sent[name] = value
        if self.listen:
            sent["listen"] = True
        if self.wake_words is not None:
            sent["wake_words"] = list(self.wake_words)
        return sent


@dataclass(frozen=True, slots=True)
class WakeWords:
    """The wake words a satellite offers (its microphone's `wake_words`) and how many at once."""

    offered: tuple[tuple[str, str], ...]  # (id, phrase)
    max_active: int

    @classmethod
    def of(cls, parameters: dict[str, Any]) -> WakeWords:
        """From the microphone capability's parameters; entries that are not (id, phrase) are left out."""
        offered: dict[str, str] = {}
        listed = parameters.get("wake_words")
        for entry in listed[:MAX_WAKE_WORDS] if isinstance(listed, list) else ():
            if not isinstance(entry, dict) or not is_identifier(entry.get("id")):
                continue
            try:
                text = clean_text(entry.get("phrase"), "phrase", shortest=1, longest=64)
            except ProtocolError:
                text = entry["id"]  # HA's wake word picker shows the id instead
            offered.setdefault(entry["id"], text)
        most = parameters.get("max_active", 1)
        if type(most) is not int or not 1 <= most <= MAX_ACTIVE_WAKE_WORDS:
            most = 1
        return cls(tuple(offered.items()), most if offered else 0)


@dataclass(slots=True)
class AudioStream:
    """One run's audio as it arrives: in order, no faster than real time, bounded in length.

    take() raises ProtocolError: `audio_lost` (a chunk missing), `too_fast` (ahead of
    real time by more than the pre-roll), `too_long` (past the run's limit). Each ends
    the run; the device is told `error` with that code. The receiver ends a run that
    gets no chunk for GAP_SECONDS (`audio_timeout`).
    """

    run: SatelliteRun
    started: float
    next_seq: int = 0
    received: int = 0
    ended: bool = False

    @property
    def seconds(self) -> float:
        """The audio taken so far."""
        return self.received / BYTES_PER_SECOND

    def take(self, chunk: SatelliteAudio, now: float) -> bytes:
        """The chunk's PCM if it is the next one and within the bounds."""
        if chunk.seq != self.next_seq:
            raise ProtocolError(
                "audio_lost", f"chunk {chunk.seq} came, {self.next_seq} was next"
            )
        seconds = (self.received + len(chunk.pcm)) / BYTES_PER_SECOND
        if seconds > MAX_RUN_SECONDS[self.run.start_stage]:
            raise ProtocolError(
                "too_long",
                f"a run carries at most {MAX_RUN_SECONDS[self.run.start_stage]:g} s",
            )
        if seconds > now - self.started + PREROLL_SECONDS:
            raise ProtocolError("too_fast", "audio faster than real time")
        self.next_seq += 1
        self.received += len(chunk.pcm)
        self.ended = chunk.end
        return chunk.pcm
