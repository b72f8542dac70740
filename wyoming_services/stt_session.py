"""One utterance: audio in as it arrives, with speculative decoding, a transcription out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import time

import numpy as np

from .audio import TARGET_RATE, Converter, Float32Array, PcmFormat
from .authority import Authority
from .endpoint import EndpointConfig, SpeechTracker
from .stt import SpeechToText, SttError, Transcription
from .turn_end import QUESTION_SECONDS, UNFINISHED_SECONDS, Said, quiet_needed

# A live stream in which nothing was loud for this long has no command in it.
NOTHING_SAID_SECONDS = 8.0
# A long chunk is heard this much at a time, the event loop given back between
# slices: resampling and judging 29 s at once held every other connection ~0.55 s.
SLICE_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class _Speculation:
    """A decode of audio[:end] started before audio-stop."""

    end: int
    decode: asyncio.Future[Transcription]
    running: asyncio.Event


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

    After audio-stop the session decodes audio[:end of speech + tail]. A decode
    started early answers only if it holds that audio, or all of the audio but
    silence, so it hears every word the later decode would.
    """

    def __init__(
        self,
        engine: SpeechToText,
        fmt: PcmFormat,
        language: str,
        endpoint: EndpointConfig | None = None,
        requester: Authority | None = None,
    ) -> None:
        """Start an empty utterance in the given format; requester: who asks (decodes in fair turns)."""
        self.engine = engine
        self.requester = requester
        self.language = language
        self._format = fmt
        self._converter = Converter(fmt)
        self._tracker = SpeechTracker(endpoint)
        self._chunks: list[Float32Array] = []
        self._samples = 0
        self._max_samples = int(engine.settings.stt_max_seconds * TARGET_RATE)
        self._speculation: _Speculation | None = None
        self._passes = 0
        self._started = time.monotonic()
        # A trusted client's utterance: strangers' decodes wait while it streams.
        self._holds = requester is not None and requester.may_act

    async def receive(self, data: bytes) -> None:
        """Take one chunk, a long one in slices: the other connections have the loop between them."""
        self._check_room(data)
        fmt = self._format
        step = max(1, round(SLICE_SECONDS * fmt.rate)) * fmt.frame_bytes
        for start in range(0, len(data), step):
            if start:
                await asyncio.sleep(0)
            self.add_audio(data[start : start + step])

    def add_audio(self, data: bytes) -> None:
        """Take one chunk; raises AudioFormatError or SttError on bad input."""
        self._check_room(data)
        samples = self._converter.convert(data)
        self._append(samples)
        if self._holds:
            self.engine.streaming(self)
        if (
            self.engine.settings.stt_speculative
            and self._tracker.decode_is_due()
            and self._is_live()
        ):
            self._speculate()

    def _check_room(self, data: bytes) -> None:
        # Checked on the chunk's size, before any work: converting first let one
        # huge chunk take gigabytes and block the loop for seconds.
        fmt = self._format
        seconds = len(data) / (fmt.rate * fmt.frame_bytes)
        if self._samples / TARGET_RATE + seconds > self.engine.settings.stt_max_seconds:
            raise SttError(
                f"audio is longer than the {self.engine.settings.stt_max_seconds:g} s "
                "limit (stt_max_seconds)"
            )

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
        speculation = self._answering()
        if speculation is None:
            return quiet >= UNFINISHED_SECONDS
        decode = speculation.decode
        if not decode.done():
            return False
        if decode.cancelled() or decode.exception() is not None:
            return quiet >= UNFINISHED_SECONDS
        said = decode.result()
        return quiet >= quiet_needed(Said(said.text, said.intent is not None))

    def question(self) -> str | None:
        """The words so far, once heard as a whole question, while the turn's quiet runs out.

        What the agent will be asked if the speaker says no more (grok/early.py).
        """
        speculation = self._answering() if self._is_live() else None
        decode = speculation.decode if speculation is not None else None
        if decode is None or not decode.done() or decode.cancelled():
            return None
        if decode.exception() is not None:
            return None
        said = decode.result()
        if said.intent is not None or quiet_needed(Said(said.text)) != QUESTION_SECONDS:
            return None
        return said.text.strip()

    def _answering(self) -> _Speculation | None:
        """The speculation that heard everything said so far, if any."""
        speculation, end = self._speculation, self._tracker.utterance_end(self._samples)
        if speculation is None or not (
            speculation.end == end
            or (
                speculation.end < end
                and self._tracker.only_silence_after(speculation.end)
            )
        ):
            return None
        return speculation

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
        stale = self._speculation
        if stale is not None:
            if self._answering() is stale:
                return
            if stale.running.is_set() and not stale.decode.done():
                # A running decode cannot be stopped: one at a time per session,
                # the next starts when it ends (its result is thrown away).
                return
            # More speech came: the earlier pass is of no use any more.
            stale.decode.cancel()
            self.engine.counters.speculative_wasted += 1
        self._passes += 1
        end, running = self._tracker.utterance_end(self._samples), asyncio.Event()
        audio = self._audio_until(end)
        # An early decode's audio ends before the tail does. Whisper hears silence
        # inside the audio differently from the end of it, so the tail still to come
        # is padded with silence: the decode is of the slice, if silence it is.
        slice_end = self._tracker.tail_end()
        if self._tracker.loud_end and slice_end > end:
            audio = np.concatenate((audio, np.zeros(slice_end - end, np.float32)))
        decode = asyncio.ensure_future(
            self.engine.transcribe(audio, self.language, running, self.requester)
        )
        self._speculation = _Speculation(end, decode, running)

    async def finish(self) -> SessionResult:
        """Flush the audio and answer, from the speculative pass when it still fits."""
        try:
            return await self._finish()
        finally:
            if self._holds:
                self.engine.decoded(self)

    async def _finish(self) -> SessionResult:
        self._append(self._converter.convert(b"", last=True))
        self.engine.counters.requests += 1
        audio_seconds = self._samples / TARGET_RATE
        if not self._tracker.may_have_speech:
            self._discard_speculation()
            return SessionResult(
                Transcription("", [], self.language, 0.0), 0, 0, False, audio_seconds
            )
        if (speculation := self._answering()) is not None:
            self.engine.counters.speculative_hits += 1
            result = await speculation.decode
            return SessionResult(result, self._passes, 0, True, audio_seconds)
        end = self._tracker.utterance_end(self._samples)
        self._discard_speculation()
        self._passes += 1
        self.engine.counters.passes_after_stop += 1
        result = await self.engine.transcribe(
            self._audio_until(end), self.language, requester=self.requester
        )
        return SessionResult(result, self._passes, 1, False, audio_seconds)

    def _discard_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.decode.cancel()
            self.engine.counters.speculative_wasted += 1
            self._speculation = None

    def abort(self) -> None:
        """Drop the session (client gone or bad input)."""
        self._discard_speculation()
        self._chunks.clear()
        if self._holds:
            self.engine.decoded(self)
