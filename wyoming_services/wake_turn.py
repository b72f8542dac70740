"""A client's wake-word detection: `detect`, then its audio, answered `detection` or `not-detected`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from wyoming.event import Event
from wyoming.info import Attribution, WakeModel, WakeProgram
from wyoming.wake import Detection, NotDetected

from . import __version__
from .audio import PcmFormat, check_frames
from .budgets import AudioPace
from .event_fields import FieldError, Fields
from .voice import WakeError, WakeStream, WakeWord, bundled, chosen

# More names than models only repeats them; the cap keeps the error short.
MOST_NAMES = 16
# Satellites send 10-100 ms at a time; a chunk is heard in one go on the event loop,
# so its length is checked before any work (2 MiB at 1 kHz was 35 minutes of audio).
MAX_CHUNK_SECONDS = 1.0
_ATTRIBUTION = Attribution(
    name="Kevin Ahrendt", url="https://github.com/kahrendt/microWakeWord"
)


def wake_program() -> WakeProgram:
    """What describe says of the wake words: HA lists each by its phrase."""
    return WakeProgram(
        name="Alicia (microWakeWord)",
        description="Alicia wake words (microWakeWord)",
        attribution=_ATTRIBUTION,
        installed=True,
        version=__version__,
        models=[
            WakeModel(
                name=word.id,
                description=word.phrase,
                phrase=word.phrase,
                attribution=_ATTRIBUTION,
                installed=True,
                languages=list(word.languages),
                version=None,
            )
            for word in bundled()
        ],
    )


class Waking:
    """One connection's wake-word detection; its audio goes nowhere else."""

    def __init__(
        self, write: Callable[[Event], Awaitable[None]], pace: AudioPace
    ) -> None:
        """Not listening until a `detect`.

        pace: the connection's (Listening.pace), not a stream's: a new audio-start
        gets no new burst, and an untrusted client's reconnect none either.
        """
        self._write = write
        self._words: tuple[WakeWord, ...] | None = None
        self._stream: WakeStream | None = None
        # The connection's latest stream, kept after it ends: its models hear the next.
        self._last: WakeStream | None = None
        self._pace = pace

    @property
    def streaming(self) -> bool:
        """Whether an audio stream is being heard (a `detect` alone is no work)."""
        return self._stream is not None

    @property
    def active(self) -> bool:
        """Whether the connection's audio is for wake words (asked for or streaming)."""
        return self._words is not None or self._stream is not None

    def detect(self, fields: Fields) -> None:
        """The words the next audio stream waits for (all when it names none)."""
        fields.mapping("context")
        self._words = chosen(fields.names("names", MOST_NAMES))

    async def start(self, fmt: PcmFormat) -> None:
        """A new audio stream after `detect` (or in place of the one going on)."""
        words = self._words or (self._stream.words if self._stream else chosen(None))
        self._stream, self._words = None, None
        # Resetting (or first loading) the models is work: a stranger's flood of
        # audio-starts waits as its audio would.
        if (pause := self._pace.start()) > 0:
            await asyncio.sleep(pause)
        last = self._last
        self._stream = self._last = (
            WakeStream(words, fmt) if last is None else last.next(words, fmt)
        )

    async def chunk(self, audio: bytes, fields: Fields) -> None:
        """Hear a chunk; report a wake word the moment it is heard."""
        if self._stream is None:
            raise FieldError("audio-chunk received before audio-start")
        fmt = self._stream.format
        data = fields.data
        rate, width, channels = (
            data.get("rate"),
            data.get("width"),
            data.get("channels"),
        )
        # Fifty chunks a second: the usual one, three whole numbers equal to the
        # stream's, is taken at a glance; anything else is read field by field.
        if not (
            type(rate) is int
            and type(width) is int
            and type(channels) is int
            and (rate, width, channels) == (fmt.rate, fmt.width, fmt.channels)
        ):
            sent = (
                fields.whole("rate"),
                fields.whole("width"),
                fields.whole("channels"),
            )
            raise FieldError(
                "audio-chunk: rate, width and channels must be audio-start's "
                f"({fmt.rate}, {fmt.width}, {fmt.channels}), not {sent}"
            )
        timestamp = fields.optional_whole("timestamp")
        seconds = len(audio) / (fmt.rate * fmt.frame_bytes)
        if seconds > MAX_CHUNK_SECONDS:
            raise WakeError(
                f"an audio-chunk of {seconds:.1f} s is longer than "
                f"{MAX_CHUNK_SECONDS:g} s: send the stream as it is heard"
            )
        check_frames(audio, fmt)  # an AudioFormatError: the handler's wake-error
        # Heard on the event loop: no faster than it plays, give or take a burst.
        if (pause := self._pace.wait(seconds)) > 0:
            await asyncio.sleep(pause)
            if self._stream is None:  # closed meanwhile
                return
        word = self._stream.feed(audio)
        if word is not None:
            at = timestamp if timestamp is not None else self._milliseconds()
            await self._write(Detection(name=word, timestamp=at).event())

    async def stop(self) -> None:
        """The stream ended: say so when no wake word was heard."""
        stream, self._stream = self._stream, None
        if stream is not None and not stream.detections:
            await self._write(NotDetected().event())

    def close(self) -> None:
        """The connection closed: forget the stream, free the models."""
        self._stream = None
        if self._last is not None:
            self._last.close()
            self._last = None

    def _milliseconds(self) -> int:
        assert self._stream is not None
        return round(self._stream.detector.seconds * 1000)
