"""Text-to-speech on Piper: installed voices only, audio piece by piece, requests served in turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
import contextlib
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import time
from typing import Any
import weakref

import numpy as np

from alicia_bus.log_limit import LimitedLog
from alicia_bus.text import excerpt

from .audio import Float32Array, chunk_pcm, float_to_pcm16
from .one_ahead import one_ahead
from .piper_cut_cache import CutCache
from .piper_loudness import VoiceGains, scaled
from .piper_session import piper_session
from .run_parts import RunParts, given
from .settings import Settings
from .speech_memory import SpeechMemory, run_size
from .spoken_cache import SpokenCache
from .tts_text import (
    TextStream,
    TtsError,
    known_phonemes,
    pieces,
    without_raw_phonemes,
)
from .tts_turns import Turn, Turns, TurnsClosed, runs
from .tts_voice import VoiceInfo, bundled_voice_path

# TextStream and TtsError live with the text rules, chunk_pcm with the audio;
# importers of this module keep them.
__all__ = ["TextStream", "TextToSpeech", "TtsError", "chunk_pcm"]
_LOGGER = logging.getLogger(__name__)
# Piper failing on a text: a client may repeat it at will, one line a minute.
_FAILURES = LimitedLog(_LOGGER)


class _GaveWay(Exception):
    """A background run stopped for a request with less spoken; it is made again."""


@dataclass(slots=True)
class TtsCounters:
    """Totals since start."""

    requests: int = 0
    sentences: int = 0
    errors: int = 0
    # Background runs stopped to let a shorter request speak (made again later).
    gave_way: int = 0


class TextToSpeech:
    """Piper voices loaded once and shared; tts_workers runs are synthesized at once."""

    def __init__(self, settings: Settings, memory: SpeechMemory | None = None) -> None:
        """Find the voices (cheap); models load in load(). memory: shared with Whisper."""
        self.settings = settings
        self.counters = TtsCounters()
        self.ready = asyncio.Event()
        self._executor = ThreadPoolExecutor(
            max_workers=settings.tts_workers, thread_name_prefix="tts"
        )
        self._turns = Turns(settings.tts_workers, memory)
        # Phonemes each request (the task asking) has had spoken, for the turns.
        self._served: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = (
            weakref.WeakKeyDictionary()
        )
        self._loaded: dict[str, Any] = {}
        # Each voice's gain by speaker (piper_loudness): its runs go out as made.
        self.gains = VoiceGains()
        # Short runs said for trusted clients, said again without a run.
        self.spoken = SpokenCache()
        self._cut_cache = (
            CutCache(Path(settings.tts_cut_folder)) if settings.tts_cut_folder else None
        )
        self.voices: dict[str, VoiceInfo] = {}
        for path in (bundled_voice_path(), *(Path(p) for p in settings.tts_voices)):
            try:
                info = VoiceInfo.from_model(path)
            except TtsError as err:
                _LOGGER.error("Skipping voice: %s", err)
                continue
            self.voices.setdefault(info.name, info)
        wanted = settings.tts_default_voice
        if wanted and wanted not in self.voices:
            _LOGGER.error(
                "Default voice %s is not installed; using %s",
                wanted,
                next(iter(self.voices)),
            )
        self.default_voice = (
            wanted if wanted in self.voices else next(iter(self.voices))
        )

    async def load(self) -> None:
        """Load and warm every voice, so no request pays for it."""
        loop = asyncio.get_running_loop()
        for name in list(self.voices):
            try:
                await loop.run_in_executor(self._executor, self._load_voice, name)
            except Exception as err:
                _LOGGER.error("Cannot load Piper voice %s: %s", name, err)
                del self.voices[name]
        if self.default_voice not in self.voices and self.voices:
            self.default_voice = next(iter(self.voices))
        self.ready.set()
        if self._cut_cache is not None:  # voices cut before and no longer offered
            kept = [info.model_path for info in self.voices.values()]
            await asyncio.to_thread(self._cut_cache.prune, kept)  # not a Piper thread

    def _load_voice(self, name: str) -> None:
        # Heavy, loaded in the pool.
        from piper import PiperVoice  # noqa: PLC0415
        from piper.config import PiperConfig  # noqa: PLC0415

        started = time.perf_counter()
        info = self.voices[name]
        voice = PiperVoice(
            config=PiperConfig.from_dict(json.loads(info.config_path.read_text())),
            session=piper_session(info.model_path, self._cut_cache),
        )
        speaker = self.settings.tts_speaker if info.speakers else None
        self.gains.of(name, voice, speaker)  # measured now, not at a first answer
        self._loaded[name] = voice
        _LOGGER.info(
            "Piper voice %s loaded and warmed in %.2f s (%s)",
            name,
            time.perf_counter() - started,
            "its decoder in windows"
            if getattr(voice.session, "windowed", False)
            else "its graph whole",
        )

    def resolve(
        self, name: str | None, speaker: str | None = None
    ) -> tuple[VoiceInfo, int | None]:
        """The voice and speaker id for a request, or TtsError listing what is installed."""
        info = self.voices.get(name or self.default_voice)
        if info is None:
            raise TtsError(
                f"voice {excerpt(name)} is not installed (installed: {', '.join(self.voices) or 'none'})"
            )
        if not info.speakers:
            return info, None
        if speaker is None:
            return info, self.settings.tts_speaker
        if speaker in info.speakers:
            return info, info.speakers.index(speaker)
        if speaker.isdigit() and int(speaker) < len(info.speakers):
            return info, int(speaker)
        raise TtsError(f"voice {info.name} has no speaker {excerpt(speaker)}")

    def synthesize(
        self,
        info: VoiceInfo,
        speaker_id: int | None,
        sentences: Iterable[str],
        *,
        after_speech: bool = False,
        trusted: bool = True,
    ) -> AsyncGenerator[bytes]:
        """16-bit PCM at info.sample_rate for each run, as soon as it is made.

        after_speech: this answer already said something (a pause comes first).
        trusted: asked by a trusted client, whose runs go before any stranger's.

        The next run is made while this one's audio is used. Closing the
        iterator (contextlib.aclosing) stops the run being made.
        """
        made = self._made(
            info,
            speaker_id,
            sentences,
            asyncio.current_task(),
            after_speech=after_speech,
            trusted=trusted,
        )
        # Each run's audio is sent while the next one is made: writing it out and
        # phonemizing the next piece came between two runs.
        return one_ahead(made)

    async def _made(
        self,
        info: VoiceInfo,
        speaker_id: int | None,
        sentences: Iterable[str],
        request: asyncio.Task[Any] | None,
        *,
        after_speech: bool,
        trusted: bool,
    ) -> AsyncGenerator[bytes]:
        await self.ready.wait()
        if info.name not in self._loaded:
            raise TtsError(f"voice {info.name} failed to load")
        silence = np.zeros(
            int(self.settings.tts_sentence_silence * info.sample_rate), np.float32
        )
        voice = self._loaded[info.name]
        for sentence in sentences:
            for piece in pieces(sentence):
                # The pause goes between pieces, never within or after one.
                gap = silence if after_speech else silence[:0]
                # Charged and cut by what it reads, not by its length: a CJK character
                # or an emoji reads ~15 phonemes, an English one ~1.2. Phonemizing
                # takes 0.1-3 ms a piece (espeak-ng), off the loop.
                phonemized = known_phonemes(
                    await _phonemized(voice, without_raw_phonemes(piece)),
                    voice.config.phoneme_id_map,
                )
                # The fewest phonemes spoken so far, this run's included, go first: a
                # short request never waits behind long ones, nor new ones in a crowd.
                served = self._served.get(request, 0) if request else 0
                for run, claim in runs(phonemized, served):
                    # Never a stranger's: how fast an answer came would tell it what
                    # the home was told ("Unlocked the front door").
                    said = (
                        SpokenCache.key(info.name, speaker_id, run) if trusted else None
                    )
                    cached = self.spoken.get(said)
                    parts = (
                        given(cached)
                        if cached is not None
                        else self._in_turn(claim, info.name, speaker_id, run, trusted)
                    )
                    kept: list[Float32Array] | None = (
                        [] if cached is None and said is not None else None
                    )
                    # Each window's audio goes as soon as it is made.
                    async with contextlib.aclosing(parts):
                        async for part in parts:
                            if kept is not None:
                                kept.append(part)
                            if part.size:
                                yield float_to_pcm16(np.concatenate((gap, part)))
                                gap, after_speech = silence[:0], True
                    if kept:
                        self.spoken.put(said, np.concatenate(kept))
                    if request is not None:
                        self._served[request] = claim
                    self.counters.sentences += 1

    async def _in_turn(
        self,
        served: int,
        name: str,
        speaker_id: int | None,
        run: list[str],
        trusted: bool,
    ) -> AsyncGenerator[Float32Array]:
        stoppable = True
        while True:
            try:
                turn = await self._turns.take(
                    served, stoppable, self._size(name, run), trusted=trusted
                )
            except TurnsClosed as err:
                raise TtsError("the server is stopping") from err
            try:
                async with contextlib.aclosing(
                    self._run(turn, name, speaker_id, run)
                ) as parts:
                    async for part in parts:
                        yield part
                return
            except _GaveWay:
                # This run again, in turn, and this time to its end: short
                # requests arriving every moment never starve a long one.
                self.counters.gave_way += 1
                stoppable = False
            except TtsError:
                raise
            except Exception as err:
                raise _failed("synthesize", err) from err

    def _size(self, name: str, run: list[str]) -> int:
        """What the run holds while it runs, in the shared budget's MiB."""
        session = self._loaded[name].session
        return run_size(len(run), getattr(session, "windowed", False))

    async def _run(
        self, turn: Turn, name: str, speaker_id: int | None, run: list[str]
    ) -> AsyncGenerator[Float32Array]:
        """The run's audio, window by window as the thread makes it (or whole)."""
        loop = asyncio.get_running_loop()
        parts = RunParts(loop)
        # A run that may be stopped and made again goes whole: its first windows,
        # already sent, would be said twice (and Piper's noise differs each run).
        streamed = None if turn.stoppable else parts.deliver
        try:
            turn.arm(self._loaded[name].session.run_options())
            job = self._executor.submit(
                self._synthesize_one, name, speaker_id, run, turn, streamed
            )
        except BaseException as err:
            self._turns.give_back(turn)
            if isinstance(err, RuntimeError) and self._turns.closed:
                # Granted as the threads shut down: "cannot schedule new futures".
                raise TtsError("the server is stopping") from err
            raise

        def done(_: Future[Float32Array | None]) -> None:
            # The slot is free when the thread is, not when a cancelled caller stops waiting.
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(self._turns.give_back, turn)
                parts.end()

        job.add_done_callback(done)
        try:
            async for part in parts:
                yield part
            if job.cancelled():  # close() dropped it before it started
                raise TtsError("the server is stopping")
            whole = await asyncio.wrap_future(job)
            if whole is not None:  # not sent window by window
                yield whole
        finally:
            if not job.done():
                turn.stop()  # nobody waits for its audio: it ends at its next node

    def _config(self, speaker_id: int | None) -> Any:
        """Piper's SynthesisConfig for the settings' scales."""
        from piper import SynthesisConfig  # noqa: PLC0415

        return SynthesisConfig(
            speaker_id=speaker_id,
            length_scale=self.settings.tts_length_scale,
            noise_scale=self.settings.tts_noise_scale,
            noise_w_scale=self.settings.tts_noise_w_scale,
        )

    def _synthesize_one(
        self,
        name: str,
        speaker_id: int | None,
        run: list[str],
        turn: Turn,
        deliver: Callable[[Float32Array], None] | None,
    ) -> Float32Array | None:
        """The run's audio at the voice's gain; None if deliver was given every window."""
        voice = self._loaded[name]
        gain = self.gains.of(name, voice, speaker_id)
        if turn.stopped:
            raise _GaveWay
        delivered = 0

        def window(part: Float32Array) -> None:
            nonlocal delivered
            if deliver is not None:
                delivered += 1
                deliver(scaled(part, gain))

        voice.session.for_this_thread(turn.options, window if deliver else None)
        try:
            audio = voice.phoneme_ids_to_audio(
                voice.phonemes_to_ids(run), self._config(speaker_id)
            )
            return None if delivered else scaled(audio, gain)
        except Exception as err:
            if turn.stopped:  # onnxruntime's "terminate flag" failure
                raise _GaveWay from err
            raise
        finally:
            voice.session.for_this_thread(None)

    async def close(self) -> None:
        """Stop the synthesis threads; requests waiting for a turn end (TtsError)."""
        self._turns.close()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: self._executor.shutdown(wait=True, cancel_futures=True)
        )


async def _phonemized(voice: Any, piece: str) -> list[list[str]]:
    """The piece's phonemes by sentence; TtsError if the phonemizer fails on it."""
    try:
        phonemes: list[list[str]] = await asyncio.to_thread(voice.phonemize, piece)
    except Exception as err:
        raise _failed("phonemize", err) from err
    return phonemes


def _failed(stage: str, err: Exception) -> TtsError:
    """An error of Piper's as one line a minute and a TtsError, never a traceback."""
    reason = f"{type(err).__name__}: {excerpt(str(err))}"
    _FAILURES.log(
        logging.WARNING, stage, "Piper could not %s a text: %s", stage, reason
    )
    return TtsError(f"Piper could not {stage} the text ({reason})")
