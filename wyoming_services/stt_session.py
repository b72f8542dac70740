"""One utterance: audio in as it arrives, with speculative decoding, a transcription out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time

import numpy as np

from .audio import TARGET_RATE, Converter, Float32Array, PcmFormat
from .endpoint import EndpointConfig, SpeechTracker
from .stt import SpeechToText, SttError, Transcription
from .turn_end import UNFINISHED_SECONDS, Said, quiet_needed

# A live stream in which nothing was loud for this long has no command in it.
NOTHING_SAID_SECONDS = 8.0


@dataclass(slots=True)
class SessionResult:
    """A finished session: the transcription and how it was reached."""

    transcription: Transcription
    passes: int
    passes_after_stop: int
    speculative: bool
    audio_seconds: float


class SttSession:
    """One utterance: audio in as it arrives, a transcription out at audio-stop.

    Both paths decode exactly audio[:end of speech + tail], so answering from a
    decode started early gives the same text as decoding after audio-stop.
    """

    def __init__(
        self,
        engine: SpeechToText,
        fmt: PcmFormat,
        language: str,
        endpoint: EndpointConfig | None = None,
    ) -> None:
        """Start an empty utterance in the given format."""
        self.engine = engine
        self.language = language
        self._format = fmt
        self._converter = Converter(fmt)
        self._tracker = SpeechTracker(endpoint)
        self._chunks: list[Float32Array] = []
        self._samples = 0
        self._max_samples = int(engine.settings.stt_max_seconds * TARGET_RATE)
        self._speculation: tuple[int, asyncio.Future[Transcription]] | None = None
        self._passes = 0
        self._started = time.monotonic()

    def add_audio(self, data: bytes) -> None:
        """Take one chunk; raises AudioFormatError or SttError on bad input."""
        fmt = self._format
        seconds = len(data) / (fmt.rate * fmt.frame_bytes)
        # Checked on the chunk's size, before any work: converting first let one
        # huge chunk take gigabytes and block the loop for seconds.
        if self._samples / TARGET_RATE + seconds > self.engine.settings.stt_max_seconds:
            raise SttError(
                f"audio is longer than the {self.engine.settings.stt_max_seconds:g} s "
                "limit (stt_max_seconds)"
            )
        samples = self._converter.convert(data)
        self._append(samples)
        if (
            self.engine.settings.stt_speculative
            and self._tracker.speech_has_ended()
            and self._is_live()
        ):
            self._speculate()

    def turn_over(self) -> bool:
        """Whether a live speaker has finished, judged by the quiet and what they said.

        Only for audio arriving as it is spoken (a burst ends at audio-stop), and
        answered from the speculative decode of the speech so far, so the
        transcript is ready the moment the turn is over.
        """
        if not self._is_live():
            return False
        tracker = self._tracker
        if not tracker.may_have_speech:
            return tracker.samples_seen >= NOTHING_SAID_SECONDS * TARGET_RATE
        quiet = (tracker.samples_seen - tracker.loud_end) / TARGET_RATE
        speculation = self._speculation
        end = tracker.utterance_end(self._samples)
        if speculation is None or speculation[0] != end:
            return quiet >= UNFINISHED_SECONDS
        if not speculation[1].done():
            return False
        if speculation[1].cancelled() or speculation[1].exception() is not None:
            return quiet >= UNFINISHED_SECONDS
        said = speculation[1].result()
        return quiet >= quiet_needed(Said(said.text, said.intent is not None))

    def _is_live(self) -> bool:
        """Audio arriving about as fast as it plays; a burst is decoded once, at the end."""
        return time.monotonic() - self._started >= 0.5 * self._samples / TARGET_RATE

    def _append(self, samples: Float32Array) -> None:
        if self._samples + samples.size > self._max_samples:
            raise SttError(
                f"audio is longer than the {self.engine.settings.stt_max_seconds:g} s "
                "limit (stt_max_seconds)"
            )
        if samples.size:
            self._chunks.append(samples)
            self._samples += samples.size
            self._tracker.feed(samples)

    def _audio_until(self, end: int) -> Float32Array:
        audio = (
            np.concatenate(self._chunks) if len(self._chunks) != 1 else self._chunks[0]
        )
        self._chunks = [audio]
        return audio[:end]

    def _speculate(self) -> None:
        if self.engine.saturated:
            # Back off: on a saturated CPU a guess would queue behind real work and
            # delay it; the utterance is decoded once, at audio-stop.
            self._discard_speculation()
            self.engine.counters.speculative_skipped += 1
            return
        end = self._tracker.utterance_end(self._samples)
        if self._speculation is not None:
            if self._speculation[0] == end:
                return
            # More speech came: the earlier pass is of no use any more.
            self._speculation[1].cancel()
            self.engine.counters.speculative_wasted += 1
        self._passes += 1
        future = asyncio.ensure_future(
            self.engine.transcribe(self._audio_until(end), self.language)
        )
        self._speculation = (end, future)

    async def finish(self) -> SessionResult:
        """Flush the audio and answer, from the speculative pass when it still fits."""
        self._append(self._converter.convert(b"", last=True))
        self.engine.counters.requests += 1
        audio_seconds = self._samples / TARGET_RATE
        if not self._tracker.may_have_speech:
            self._discard_speculation()
            return SessionResult(
                Transcription("", [], self.language, 0.0), 0, 0, False, audio_seconds
            )
        end = self._tracker.utterance_end(self._samples)
        if self._speculation is not None and self._speculation[0] == end:
            self.engine.counters.speculative_hits += 1
            result = await self._speculation[1]
            return SessionResult(result, self._passes, 0, True, audio_seconds)
        self._discard_speculation()
        self._passes += 1
        self.engine.counters.passes_after_stop += 1
        result = await self.engine.transcribe(self._audio_until(end), self.language)
        return SessionResult(result, self._passes, 1, False, audio_seconds)

    def _discard_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation[1].cancel()
            self.engine.counters.speculative_wasted += 1
            self._speculation = None

    def abort(self) -> None:
        """Drop the session (client gone or bad input)."""
        self._discard_speculation()
        self._chunks.clear()
