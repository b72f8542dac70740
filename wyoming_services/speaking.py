"""One connection's text-to-speech: whole texts, and streams spoken while their text still arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import time

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.tts import SynthesizeStopped

from .engines import Engines
from .voice import Speech, TtsError, chunk_pcm

AUDIO_CHUNK_BYTES = 8192

Write = Callable[[Event], Awaitable[None]]
Failed = Callable[[Exception], Awaitable[None]]


class Speaking:
    """The synthesize requests of one connection; a new stream replaces an unfinished one."""

    def __init__(
        self, engines: Engines, write: Write, failed: Failed, trusted: bool
    ) -> None:
        """Nothing to say yet; failed(error) is told when a stream cannot go on.

        trusted: the client is one of wyoming_trusted_clients (its runs go first).
        """
        self.engines = engines
        self.trusted = trusted
        self._write = write
        self._failed = failed
        self._speech: Speech | None = None
        self._queue: asyncio.Queue[list[str] | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._audio_started = False
        self.since: float | None = None  # when the open stream began

    async def say(self, text: str, voice: str | None, speaker: str | None) -> None:
        """A whole text (synthesize); inside a stream it is the client's copy for older servers."""
        if self._speech is not None:
            return
        speech = Speech.start(self.engines, voice, speaker, trusted=self.trusted)
        self._audio_started = False
        await self._send(speech, speech.sentences(text) + speech.rest())
        await self._end(speech)

    async def start(self, voice: str | None, speaker: str | None) -> None:
        """A stream begins (synthesize-start); it is spoken beside the reading of its text."""
        await self.cancel()
        self._speech = speech = Speech.start(
            self.engines, voice, speaker, trusted=self.trusted
        )
        self._audio_started = False
        self._queue = asyncio.Queue()
        self.since = time.monotonic()
        self._task = asyncio.create_task(self._work(speech, self._queue))

    def add(self, text: str) -> None:
        """More text of the stream (synthesize-chunk); what it completes is queued."""
        if self._speech is None or self._queue is None:
            raise TtsError("synthesize-chunk received before synthesize-start")
        try:
            sentences = self._speech.sentences(text)
        except TtsError:
            self._queue = self._speech = None  # refused: nothing more of it is kept
            raise
        if sentences:
            self._queue.put_nowait(sentences)

    async def stop(self) -> None:
        """The stream's text is complete (synthesize-stop): its audio is finished."""
        speech, queue, task = self._speech, self._queue, self._task
        if speech is None or queue is None or task is None:
            raise TtsError("synthesize-stop received before synthesize-start")
        queue.put_nowait(speech.rest())
        queue.put_nowait(None)
        self._speech = self._queue = None
        self.since = None
        await task
        self._task = None

    async def cancel(self) -> None:
        """Drop an unfinished stream: its text, and its synthesis at the next piece."""
        task, self._task = self._task, None
        self._speech = self._queue = None
        self.since = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(
        self, speech: Speech, queue: asyncio.Queue[list[str] | None]
    ) -> None:
        try:
            while (sentences := await queue.get()) is not None:
                await self._send(speech, sentences)
            await self._end(speech)
            await self._write(SynthesizeStopped().event())
        except (TtsError, ConnectionError) as err:
            await self._failed(err)

    async def _begin(self, speech: Speech) -> None:
        """Say audio-start, once per answer."""
        if not self._audio_started:
            rate = speech.voice.sample_rate
            await self._write(AudioStart(rate=rate, width=2, channels=1).event())
            self._audio_started = True

    async def _send(self, speech: Speech, sentences: list[str]) -> None:
        # audio-start before the synthesis: HA starts its converter (ffmpeg) meanwhile.
        await self._begin(speech)
        rate = speech.voice.sample_rate
        # Closed when the client leaves: the run made meanwhile stops.
        async with contextlib.aclosing(speech.audio(sentences)) as audio:
            async for pcm in audio:
                for piece in chunk_pcm(pcm, AUDIO_CHUNK_BYTES):
                    await self._write(
                        AudioChunk(rate=rate, width=2, channels=1, audio=piece).event()
                    )

    async def _end(self, speech: Speech) -> None:
        await self._begin(speech)  # empty text: still a well-formed, empty audio stream
        await self._write(AudioStop().event())
        self._audio_started = False
