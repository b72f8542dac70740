"""Speech-to-text on faster-whisper, with speculative endpointing and vocabulary biasing."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
import logging
import os
from pathlib import Path
import time
from typing import Any

import numpy as np

from .audio import TARGET_RATE, Float32Array
from .authority import Authority
from .decode_queue import DecodeQueue, is_trusted
from .home_language import HomeLanguage, HomeNames, warm as warm_commands
from .settings import Settings
from .speech_memory import DECODE_SIZE, SpeechMemory
from .vocabulary_prompt import fit_prompt, token_counter
from .whisper_languages import WHISPER_LANGUAGES, normalize_language
from .whisper_model import bundled_or_none, model_folder
from .whisper_pass import decode_pass

_LOGGER = logging.getLogger(__name__)
STRANGER_TOKENS = 128  # a stranger's decode at most (30 s of speech: some 100)
# The decoder places timestamps (faster-whisper's default): without them it more often
# stopped at a pause inside the speech ("What time is it? ... in Tokyo?" heard as
# "What time is it?"): 6 of 180 paused questions and commands with the 30 s window,
# 13 with 10 s; with them 0 and 1 (docs/benchmarks.md, "The encoder's window").
TIMESTAMPS = True


class SttError(Exception):
    """A request the STT program refuses; the text is sent to the client."""


@dataclass(slots=True)
class Transcription:
    """What one decode pass produced."""

    text: str
    segments: list[str]
    language: str
    decode_seconds: float
    # The home command the text is (HA's intent name), and whether a misheard
    # name was corrected to make it one.
    intent: str | None = None
    corrected: bool = False


@dataclass(slots=True)
class SttCounters:
    """Totals since start, for tests, benchmarks and the bridge's heartbeat."""

    requests: int = 0
    decode_passes: int = 0
    passes_after_stop: int = 0
    speculative_hits: int = 0
    speculative_wasted: int = 0
    # Speculative passes not started because decodes were already waiting.
    speculative_skipped: int = 0
    # Transcripts that were the vocabulary prompt read back, decoded again without it.
    prompt_echoes: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class _Decoder:
    """A loaded model and the CPU threads one decode on it occupies."""

    model: Any
    threads: int


class SpeechToText:
    """One Whisper model shared by all connections, never using more threads than the CPU budget.

    Measured here (tiny.en, 2 cores): one decode on 2 threads takes 0.23 s, on 1 thread
    0.27 s; ten decodes take 2.27 s one after another on 2 threads but 1.61 s two at a
    time on 1 thread each, holding 149 MiB instead of 67. So a decode gets every thread
    (the "solo" decoder); queued ones run side by side on single-thread replicas only
    when the memory budget shared with Piper has room for two (not by default).
    """

    def __init__(self, settings: Settings, memory: SpeechMemory | None = None) -> None:
        """Remember the settings; nothing heavy happens until load(). memory: shared with Piper."""
        self.settings = settings
        self.model_path = Path(settings.stt_model) if settings.stt_model else None
        self.model_name = self.model_path.name if self.model_path else "tiny.en"
        self.counters = SttCounters()
        self.ready = asyncio.Event()
        self.load_error: str | None = None
        self.cpu_threads = settings.stt_cpu_threads or (os.cpu_count() or 1)
        self.parallel = min(settings.stt_workers or self.cpu_threads, self.cpu_threads)
        self._solo: _Decoder | None = None
        self._shared: _Decoder | None = None
        self._busy_threads = 0
        self._solo_running = False
        # Trusted clients' decodes first, then the least decode time used lately.
        self._waiting = DecodeQueue(wake=self._dispatch)
        # A decode holds 37-43 MiB while it runs (tiny.en on up to 10 s of audio):
        # decodes start while the memory shared with Piper has room for one.
        self.memory = memory or SpeechMemory()
        self.memory.wake_whisper = self._dispatch
        # Threads only wait on CTranslate2, which bounds the CPU itself.
        self._executor = ThreadPoolExecutor(
            max_workers=self.parallel + 1, thread_name_prefix="stt"
        )
        self._count_tokens = token_counter(self.model_path or bundled_or_none())
        self._vocabulary: tuple[str, ...] = ()
        self._prompt: str | None = None
        self._home: dict[str, HomeLanguage] = {}
        self._names = HomeNames()
        self.set_vocabulary(settings.stt_vocabulary)
        self.multilingual = not self.model_name.endswith(".en")
        if self.model_path and not (self.model_path / "model.bin").is_file():
            # Known before anything loads, so describe never offers it.
            self.load_error = (
                f"Whisper model {self.model_path} has no model.bin "
                "(expected a CTranslate2 model directory)"
            )

    @property
    def languages(self) -> list[str]:
        """Languages the model can transcribe."""
        return list(WHISPER_LANGUAGES) if self.multilingual else ["en"]

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """Phrases recognition is biased toward."""
        return self._vocabulary

    @property
    def prompt(self) -> str | None:
        """What the decoder is prompted with: the vocabulary within the model's budget."""
        return self._prompt

    def set_vocabulary(
        self, phrases: list[str] | tuple[str, ...], names: HomeNames | None = None
    ) -> None:
        """Replace the phrases (most important first) and the home's names; from the next pass."""
        cleaned = tuple(dict.fromkeys(p.strip() for p in phrases if p and p.strip()))
        self._vocabulary = cleaned
        self._prompt = fit_prompt(cleaned, self._count_tokens)
        self._names = names or HomeNames()
        for home in list(self._home.values()):  # decode threads may add one meanwhile
            home.set_names(self._names)

    def _home_language(self, language: str) -> HomeLanguage | None:
        """The home's command language in language (made on first use), if it has names."""
        if not self.settings.stt_home_commands or not self._names:
            return None
        if (home := self._home.get(language)) is None:
            home = self._home[language] = HomeLanguage(language)
            home.set_names(self._names)
        return home

    async def load(self) -> None:
        """Load and warm the solo decoder, so the first request is not slower than the tenth."""
        loop = asyncio.get_running_loop()
        if self.load_error:
            _LOGGER.error(self.load_error)
            self.ready.set()
            return
        try:
            await loop.run_in_executor(self._executor, self._load)
            assert self._solo is not None
            await loop.run_in_executor(self._executor, self._warm, self._solo)
        except Exception as err:
            self.load_error = f"cannot load Whisper model {self.model_name}: {err}"
            _LOGGER.error(self.load_error)
        self.ready.set()

    async def load_parallel(self) -> None:
        """Add the single-thread decoders; until then queued requests wait for the solo one."""
        if self.load_error or self.parallel < 2 or self.cpu_threads < 2:
            return
        if self.memory.limit < 2 * DECODE_SIZE:
            return  # two decodes never run at once: replicas would only take memory
        loop = asyncio.get_running_loop()
        shared = await loop.run_in_executor(
            self._executor, self._load_model, 1, self.parallel
        )
        decoder = _Decoder(shared, 1)
        await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, self._warm, decoder)
                for _ in range(self.parallel)
            )
        )
        self._shared = decoder
        self._dispatch()
        _LOGGER.info("%d parallel single-thread decoders ready", self.parallel)

    def _load(self) -> None:
        started = time.perf_counter()
        self._solo = _Decoder(self._load_model(self.cpu_threads, 1), self.cpu_threads)
        self.multilingual = bool(self._solo.model.model.is_multilingual)
        _LOGGER.info(
            "Whisper model %s loaded in %.2f s (%d threads, %g s window)",
            model_folder(self.model_path),
            time.perf_counter() - started,
            self.cpu_threads,
            self.settings.stt_window_seconds,
        )

    def _load_model(self, threads: int, replicas: int) -> Any:
        from .whisper_window import WindowedWhisper  # noqa: PLC0415 - heavy, in the pool

        model = WindowedWhisper(
            str(model_folder(self.model_path)),
            device="cpu",
            compute_type=self.settings.stt_compute_type,
            cpu_threads=threads,
            num_workers=replicas,
            local_files_only=True,
        )
        model.window(self.settings.stt_window_seconds)
        return model

    def _warm(self, decoder: _Decoder) -> None:
        warm = np.zeros(TARGET_RATE, dtype=np.float32)
        warm[: TARGET_RATE // 2] = 0.1 * np.sin(np.arange(TARGET_RATE // 2) * 0.2)
        self._decode(decoder, warm, self.languages[0])
        if self.settings.stt_home_commands:
            warm_commands(self.languages[0])

    def check_language(self, language: str | None) -> str:
        """The language to use, or SttError naming the ones the model has."""
        if self.load_error:
            raise SttError(self.load_error)
        lang = normalize_language(language) or normalize_language(
            self.settings.stt_language
        )
        if lang is None or lang not in self.languages:
            offered = ", ".join(self.languages[:10])
            more = "" if len(self.languages) <= 10 else ", ..."
            raise SttError(
                f"language {language!r} is not supported by Whisper model "
                f"{self.model_name} (supported: {offered}{more})"
            )
        return lang

    async def transcribe(
        self,
        audio: Float32Array,
        language: str,
        running: asyncio.Event | None = None,
        requester: Authority | None = None,
    ) -> Transcription:
        """Decode once a decoder is free (then running is set); cancelling while queued gives the place up.

        requester: who asks, for a fair turn (None: the server itself).
        """
        await self.ready.wait()
        if self.load_error:
            raise SttError(self.load_error)
        decoder = await self._acquire(requester)
        self.counters.decode_passes += 1
        if running is not None:
            running.set()
        trusted = is_trusted(requester)
        work = asyncio.get_running_loop().run_in_executor(
            self._executor, self._decode, decoder, audio, language, trusted
        )
        started = time.monotonic()

        def done(_: object) -> None:
            self._waiting.charge(requester, time.monotonic() - started)
            self._release(decoder, trusted)

        # A running decode cannot be stopped: its threads are given back when it ends.
        work.add_done_callback(done)
        return await asyncio.shield(work)

    def streaming(self, utterance: object) -> None:
        """A trusted client's utterance sent audio: strangers' decodes wait until it is decoded."""
        self._waiting.streaming(utterance)

    def decoded(self, utterance: object) -> None:
        """That utterance is decoded or dropped."""
        self._waiting.decoded(utterance)

    @property
    def saturated(self) -> bool:
        """Decodes are waiting for a decoder: a speculative pass would only add to the queue."""
        return len(self._waiting) > 0

    async def _acquire(self, requester: Authority | None) -> _Decoder:
        grant: asyncio.Future[_Decoder] = asyncio.get_running_loop().create_future()
        self._waiting.add(requester, grant)
        self._dispatch()
        try:
            return await grant
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled():
                self._release(grant.result(), is_trusted(requester))
            else:
                self._waiting.remove(grant)
                self._dispatch()  # Piper need not keep room for it any more
            raise

    def _dispatch(self) -> None:
        memory = self.memory
        started = False
        while (grant := self._waiting.first()) is not None:
            if not memory.fits(DECODE_SIZE):
                break
            # Side by side only when memory has room for a second decode too.
            alone = memory.held + 2 * DECODE_SIZE > memory.limit
            if self._busy_threads == 0 and (
                len(self._waiting) == 1 or self._shared is None or alone
            ):
                decoder = self._solo
                self._solo_running = True
            elif (
                self._shared is not None
                and not self._solo_running
                and self._busy_threads < self.parallel
            ):
                decoder = self._shared
            else:
                break
            assert decoder is not None
            self._busy_threads += decoder.threads
            memory.start_decode(self._waiting.remove(grant))
            started = True
            grant.set_result(decoder)
        waiting = self._waiting
        if memory.decodes_wait(len(waiting) > 0, waiting.trusted_waiting) or started:
            # Piper keeps room for a waiting decode, and its background piece gives
            # way to a decode of its trust or more, as to a short request.
            memory.wake_piper()

    def _release(self, decoder: _Decoder, trusted: bool) -> None:
        self._busy_threads -= decoder.threads
        self.memory.end_decode(trusted)
        if decoder is self._solo:
            self._solo_running = False
        # Piper's first in turn goes before the next decode: a queue of
        # transcriptions would otherwise keep every answer waiting for room.
        self.memory.decodes_wait(False, False)
        self.memory.wake_piper()
        self._dispatch()
        self.memory.released()

    def _decode(
        self,
        decoder: _Decoder,
        audio: Float32Array,
        language: str,
        trusted: bool = True,
    ) -> Transcription:
        """One decode; a stranger's (not trusted) at temperature 0, of bounded length, with no home names.

        faster-whisper decodes again at five higher temperatures when a text repeats
        itself: 29 s of "yes yes yes" took 15 s, and Home Assistant's decode waited
        behind it (a running decode cannot be stopped). A stranger's transcript is
        neither prompted with nor corrected to the home's names: "nano leaf panel"
        came back "Nanoleaf panels", naming the home's devices to anyone who guessed.
        """
        started = time.perf_counter()
        # Measured on tiny.en: a prompt listing the names cut the word error rate on
        # device names from 29% to 6%; hotwords reached 19% and dropped words.
        options: dict[str, Any] = {
            "language": language if self.multilingual else None,
            "beam_size": self.settings.stt_beam_size,
            "initial_prompt": self._prompt if trusted else None,
            "condition_on_previous_text": False,
            "vad_filter": False,
            "without_timestamps": not TIMESTAMPS,
        }
        if not trusted:
            options |= {"temperature": 0.0, "max_new_tokens": STRANGER_TOKENS}
        texts, echoed = decode_pass(decoder.model, audio, options)
        self.counters.prompt_echoes += echoed
        text = "".join(texts).strip()
        home = self._home_language(language) if trusted else None
        heard = home.hear(text) if home else None
        return Transcription(
            text=heard.text if heard else text,
            segments=[text.strip() for text in texts if text.strip()],
            language=language,
            decode_seconds=time.perf_counter() - started,
            intent=heard.intent if heard else None,
            corrected=heard.corrected if heard else False,
        )

    async def close(self) -> None:
        """Stop the pool once running decodes finish."""
        self._waiting.close()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: self._executor.shutdown(wait=True, cancel_futures=True)
        )
