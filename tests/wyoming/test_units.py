"""The server's parts on their own: settings, text splitting, endpointing, scheduling."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import threading
import time
from typing import Any

import numpy as np
import pytest

from tests.conftest import wait_until
from wyoming_services.audio import AudioFormatError, Converter, PcmFormat, pcm_to_float
from wyoming_services.decode_queue import DecodeQueue
from wyoming_services.endpoint import SpeechTracker
from wyoming_services.framing import read_event
from wyoming_services.heap import few_malloc_arenas
from wyoming_services.settings import Settings, SettingsError
from wyoming_services.stt import SpeechToText, Transcription, _Decoder
from wyoming_services.stt_session import SttSession
from wyoming_services.tts import TextStream, TtsError
from wyoming_services.tts_text import split_clauses, split_sentences

from .clips import as_format, trimmed
from .voices import speak
from .whisper_fakes import Segment


def test_settings_precedence(tmp_path: Path) -> None:
    options = tmp_path / "options.json"
    options.write_text(
        json.dumps(
            {
                "stt_beam_size": 3,
                "stt_language": "de",
                "log_level": "debug",
                "tts_voices": None,
            }
        )
    )
    env = {"ALICIA_STT_BEAM_SIZE": "4", "ALICIA_STT_VOCABULARY": "kitchen, Zoë's lamp"}
    settings = Settings.load(["--options", str(options), "--stt-beam-size", "5"], env)
    assert settings.stt_beam_size == 5  # flag beats environment beats options file
    assert settings.stt_language == "de"
    assert settings.log_level == "debug"
    assert settings.stt_vocabulary == ("kitchen", "Zoë's lamp")
    assert Settings.load([], env).stt_beam_size == 4
    assert Settings.load(["--no-stt-speculative"], {}).stt_speculative is False


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"stt_beam_size": 0}, "stt_beam_size must be at least 1"),
        ({"stt_beam_size": "many"}, "stt_beam_size: 'many' is not a valid int"),
        (
            {"stt_speculative": "perhaps"},
            "stt_speculative: 'perhaps' is not a valid bool",
        ),
        ({"uri": "http://x"}, "uri must start with tcp://"),
        ({"volume": 3}, "unknown setting(s): volume"),
    ],
)
def test_settings_errors_name_the_setting(values: dict[str, Any], message: str) -> None:
    with pytest.raises(
        SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        Settings.from_mapping(values)


def test_unreadable_options_file(tmp_path: Path) -> None:
    bad = tmp_path / "options.json"
    bad.write_text("{not json")
    with pytest.raises(SettingsError, match="cannot read options file"):
        Settings.load(["--options", str(bad)], {})


def test_sentences_and_clauses() -> None:
    done, rest = split_sentences("Hello there. How are you? I am fi")
    assert done == ["Hello there.", "How are you?"]
    assert rest == "I am fi"
    long = (
        "The living room is at twenty one degrees, the kitchen is a little warmer, "
        "and the bedroom window has been open since this morning."
    )
    pieces = split_clauses(long)
    assert len(pieces) == 3
    assert " ".join(pieces) == long
    assert split_clauses("Short, sweet.") == ["Short, sweet."]


@pytest.mark.parametrize(
    ("chunks", "given"),
    [
        # A long first sentence streamed: its first phrase goes before the sentence ends.
        (["Paris has been the capital of France for more than a thousand", " years. "],
         [["Paris has been the capital of France"], ["for more than a thousand years."]]),
        # Whole, the same cut; later sentences are never cut for it.
        (["Paris has been the capital of France for more than a thousand years. It sits "
          "on the river Seine in the north of the country. "],
         [["Paris has been the capital of France", "for more than a thousand years.",
           "It sits on the river Seine in the north of the country."]]),
        # At a clause, not before 20 characters ("Sure,").
        (["Sure, I turned off the lights in the kitchen and the hall for you. "],
         [["Sure, I turned off the lights", "in the kitchen and the hall for you."]]),
        # Short answers, and a first sentence with no phrase to cut: whole.
        (["Turned on the light. "], [["Turned on the light."]]),
        # HA's own answers come without a full stop: whole when the text ends too.
        (["Turned off the lights in the kitchen"], [[]]),
        (["Photosynthesis converts electromagnetic radiation efficiently. "],
         [["Photosynthesis converts electromagnetic radiation efficiently."]]),
    ],
)  # fmt: skip
def test_a_long_first_sentence_is_spoken_from_its_first_phrase(
    chunks: list[str], given: list[list[str]]
) -> None:
    stream = TextStream(max_chars=1000)
    assert [stream.add(chunk) for chunk in chunks] == given
    rest = "".join(chunks).strip() if given == [[]] else ""
    assert stream.finish() == ([rest] if rest else [])


def test_text_stream_is_bounded() -> None:
    stream = TextStream(max_chars=1000)
    assert stream.add("One. Tw") == ["One."]
    assert stream.add("o. Thr") == ["Two."]
    assert stream.finish() == ["Thr"]
    # Unpunctuated text is cut rather than buffered forever.
    assert stream.add("and then " * 40)
    with pytest.raises(TtsError, match="longer than 1000 characters"):
        stream.add("x" * 1000)


def test_pcm_decoding() -> None:
    stereo = np.array([[16384, -16384]] * 4, dtype="<i2").tobytes()
    assert np.allclose(pcm_to_float(stereo, PcmFormat(16000, 2, 2)), 0.0)
    with pytest.raises(AudioFormatError, match="not a whole number"):
        pcm_to_float(b"\x00" * 3, PcmFormat(16000, 2, 1))
    with pytest.raises(AudioFormatError, match="unsupported sample rate"):
        PcmFormat(100, 2, 1)


def test_endpointing_does_not_depend_on_chunking() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(22050) / 22050
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    audio = np.concatenate(
        [np.zeros(5000), tone, rng.standard_normal(11025) * 0.0005]
    ).astype(np.float32)
    pcm = (audio * 32767).astype("<i2").tobytes()
    ends = set()
    for step in (882, 4096, 10000):
        converter, tracker = Converter(PcmFormat(22050, 2, 1)), SpeechTracker()
        total = 0
        for offset in range(0, len(pcm), step):
            samples = converter.convert(pcm[offset : offset + step])
            total += samples.size
            tracker.feed(samples)
        tail = converter.convert(b"", last=True)
        tracker.feed(tail)
        ends.add((tracker.loud_end, tracker.utterance_end(total + tail.size)))
    assert len(ends) == 1
    loud_end = ends.pop()[0] / 16000
    assert 1.15 < loud_end < 1.35  # the tone ends at 1.23 s


class _FakeModel:
    """Stands in for faster-whisper to observe the scheduler: records threads in use."""

    def __init__(
        self, engine: SpeechToText, threads: int, log: list[int], seconds: float = 0.05
    ) -> None:
        self.engine, self.threads, self.log, self.seconds = (
            engine,
            threads,
            log,
            seconds,
        )
        self.lock = threading.Lock()

    def transcribe(self, audio: Any, **_: Any) -> tuple[list[Any], None]:
        self.log.append(self.engine._busy_threads)
        time.sleep(self.seconds)
        return [Segment()], None


async def test_scheduler_never_exceeds_the_thread_budget() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=2))
    log: list[int] = []
    engine._solo = _Decoder(_FakeModel(engine, 2, log), 2)
    engine._shared = _Decoder(_FakeModel(engine, 1, log), 1)
    engine.ready.set()
    audio = np.zeros(16000, np.float32)
    try:
        # Alone: the solo decoder with both threads.
        await engine.transcribe(audio, "en")
        assert log == [2]
        # Five at once: two single-thread decodes at a time.
        results = await asyncio.gather(
            *(engine.transcribe(audio, "en") for _ in range(5))
        )
        assert all(isinstance(r, Transcription) for r in results)
        assert max(log) <= 2
        assert engine._busy_threads == 0
        # A queued request that is cancelled gives its place up.
        first = asyncio.ensure_future(engine.transcribe(audio, "en"))
        queued = [
            asyncio.ensure_future(engine.transcribe(audio, "en")) for _ in range(3)
        ]
        await asyncio.sleep(0)
        queued[1].cancel()
        await asyncio.gather(first, queued[0], queued[2])
        assert engine.counters.decode_passes == 1 + 5 + 3
        assert engine._busy_threads == 0
    finally:
        await engine.close()


async def test_a_cancelled_wait_for_a_decoder_never_raises_anything_else() -> None:
    """Cancelled while queued, after the queue dropped its grant: CancelledError only."""
    import asyncio as aio

    engine = SpeechToText.__new__(SpeechToText)
    engine._waiting = DecodeQueue()
    engine._dispatch = lambda: None  # type: ignore[method-assign]
    waiter = aio.ensure_future(engine._acquire(None))
    await aio.sleep(0)
    grant = engine._waiting.first()
    assert grant is not None
    waiter.cancel()  # cancels the grant at once; the waiter runs its handler later
    assert grant.cancelled()
    # Meanwhile another session's release runs _dispatch, which drops done grants.
    engine._waiting.remove(grant)
    with pytest.raises(aio.CancelledError):
        await waiter


async def test_speculation_backs_off_while_decodes_wait() -> None:
    engine = SpeechToText(Settings(stt_cpu_threads=1))
    engine._solo = _Decoder(_FakeModel(engine, 1, [], seconds=0.4), 1)
    engine.ready.set()
    pcm, rate = await asyncio.to_thread(
        speak, "espeak-ng", "Turn on the kitchen light."
    )
    # The command, then a second of quiet: a speculative pass is due in the quiet.
    clip = as_format(trimmed(pcm), rate, 16000, 1) + bytes(16000 * 2)

    async def paced() -> SttSession:
        session = SttSession(engine, PcmFormat(16000, 2, 1), "en")
        for offset in range(0, len(clip), 3200):  # 0.1 s chunks, as a microphone
            session.add_audio(clip[offset : offset + 3200])
            await asyncio.sleep(0.1)
        return session

    try:
        # A saturated engine: one decode running, more waiting for the decoder.
        other = np.zeros(16000, np.float32)
        queue = [
            asyncio.ensure_future(engine.transcribe(other, "en")) for _ in range(12)
        ]
        await asyncio.sleep(0)
        assert engine.saturated
        session = await paced()
        assert engine.counters.speculative_skipped > 0
        assert session._speculation is None  # nothing added to the queue
        for waiting in queue:
            waiting.cancel()
        await asyncio.gather(*queue, return_exceptions=True)
        # A running decode outlives its cancelled waiter: it ends when it gives its threads back.
        await wait_until(lambda: engine.memory.decodes == 0, 5)
        assert not engine.saturated
        result = await session.finish()
        assert (result.speculative, result.passes_after_stop) == (False, 1)

        # With decoders free, the same utterance is guessed in the quiet.
        skipped = engine.counters.speculative_skipped
        result = await (await paced()).finish()
        assert result.speculative
        assert engine.counters.speculative_skipped == skipped
    finally:
        for waiting in queue:
            waiting.cancel()
        await asyncio.gather(*queue, return_exceptions=True)
        await engine.close()


async def test_a_passed_deadline_reads_nothing_even_buffered() -> None:
    """A stream over its time is over: an event already buffered is not taken."""
    reader = asyncio.StreamReader()
    reader.feed_data(b'{"type": "describe"}\n')
    with pytest.raises(TimeoutError):
        await read_event(reader, wait=0)
    assert (await read_event(reader, wait=1)) is not None


def test_two_malloc_arenas_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert few_malloc_arenas()  # glibc (Debian, the app's image) took it
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not few_malloc_arenas()
