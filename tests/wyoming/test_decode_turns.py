"""Whisper's queue is fair: Home Assistant's decode first, then the requester that used the least."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import threading
from typing import Any

import numpy as np
import pytest

from tests.conftest import wait_until
from wyoming_services import decode_queue
from wyoming_services.audio import PcmFormat
from wyoming_services.authority import Authority
from wyoming_services.engines import Engines
from wyoming_services.settings import Settings
from wyoming_services.stt import SpeechToText, _Decoder
from wyoming_services.stt_session import SttSession

from .whisper_fakes import Segment

HOME = Authority("wyoming:127.0.0.1", may_act=True)


def stranger(n: int) -> Authority:
    return Authority(f"wyoming:192.168.1.{n}", may_act=False)


class _OneAtATime:
    """Stands in for faster-whisper: each decode waits for the test, and is recorded by its length."""

    def __init__(self) -> None:
        self.go = threading.Semaphore(0)
        self.order: list[int] = []

    def transcribe(self, audio: Any, **_: Any) -> tuple[list[Any], None]:
        self.order.append(len(audio) // 1000)
        self.go.acquire()
        return [Segment()], None


@pytest.fixture
async def stt() -> AsyncIterator[tuple[SpeechToText, _OneAtATime]]:
    """The server's Whisper, its one decoder faked."""
    shared = Engines(Settings(stt_cpu_threads=2))
    model = _OneAtATime()
    shared.stt._solo = _Decoder(model, 2)
    shared.stt.ready.set()
    try:
        yield shared.stt, model
    finally:
        for _ in range(20):
            model.go.release()
        await shared.close()


def ask(stt: SpeechToText, tag: int, who: Authority) -> asyncio.Future[Any]:
    """A decode for who, recorded as tag."""
    audio = np.zeros(1000 * tag, np.float32)
    return asyncio.ensure_future(stt.transcribe(audio, "en", requester=who))


async def in_order(stt: SpeechToText, model: _OneAtATime, jobs: list[Any]) -> list[int]:
    """Let the decodes run one by one; the order they ran in."""
    for _ in jobs:
        model.go.release()
    await asyncio.gather(*jobs)
    return model.order


async def test_home_assistants_decode_goes_before_strangers_queued_earlier(
    stt: tuple[SpeechToText, _OneAtATime],
) -> None:
    """Strangers' clips queued first wait; HA's transcript is decoded next."""
    engine, model = stt
    jobs = [ask(engine, 1, stranger(1))]
    await wait_until(lambda: model.order == [1])
    jobs += [ask(engine, 2, stranger(2)), ask(engine, 3, stranger(3))]
    jobs += [ask(engine, 9, HOME)]
    assert await in_order(engine, model, jobs) == [1, 9, 2, 3]


async def test_among_strangers_the_least_used_goes_first(
    stt: tuple[SpeechToText, _OneAtATime],
) -> None:
    """A stranger that has just used decode time waits behind one that has not."""
    engine, model = stt
    model.go.release()
    await ask(engine, 1, stranger(1))  # used decode time
    jobs = [ask(engine, 5, stranger(5))]  # runs now
    await wait_until(lambda: model.order == [1, 5])
    jobs += [ask(engine, 2, stranger(1)), ask(engine, 3, stranger(3))]
    assert await in_order(engine, model, jobs) == [1, 5, 3, 2]


async def test_a_strangers_second_decode_waits_behind_others_first(
    stt: tuple[SpeechToText, _OneAtATime],
) -> None:
    """One requester's queued decodes compete one at a time."""
    engine, model = stt
    jobs = [ask(engine, 9, stranger(9))]
    await wait_until(lambda: model.order == [9])
    jobs += [ask(engine, 1, stranger(1)), ask(engine, 2, stranger(1))]
    jobs += [ask(engine, 3, stranger(3))]
    assert await in_order(engine, model, jobs) == [9, 1, 3, 2]


def speaking(engine: SpeechToText) -> SttSession:
    """HA's user mid-utterance: a second of loud audio streamed, decoded at finish as 16."""
    session = SttSession(engine, PcmFormat(16000, 2, 1), "en", requester=HOME)
    loud = (0.5 * np.sin(np.arange(16000) * 0.3) * 32767).astype("<i2")
    session.add_audio(loud.tobytes())
    return session


async def test_no_strangers_decode_starts_while_home_assistants_user_speaks(
    stt: tuple[SpeechToText, _OneAtATime],
) -> None:
    """The attack: one address's connections kept Whisper busy, and HA's transcript waited behind a decode begun while its user spoke."""
    engine, model = stt
    home = speaking(engine)
    jobs = [ask(engine, 1, stranger(1)), ask(engine, 2, stranger(2))]
    await asyncio.sleep(0)  # both asked: neither may start yet
    saturated = engine.saturated
    jobs.append(asyncio.ensure_future(home.finish()))
    assert await in_order(engine, model, jobs) == [16, 1, 2]
    assert not saturated  # HA's own early decodes were not held back by them


async def test_an_utterance_dropped_or_stuck_holds_strangers_no_longer(
    stt: tuple[SpeechToText, _OneAtATime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HA's utterance dropped mid-way frees Whisper for strangers at once; one left hanging, after a while."""
    engine, model = stt
    dropped = speaking(engine)
    job = ask(engine, 1, stranger(1))
    await asyncio.sleep(0)
    dropped.abort()
    await wait_until(lambda: model.order == [1])
    monkeypatch.setattr(decode_queue, "STREAMING_SECONDS", 0.05)
    speaking(engine)  # never finished
    jobs = [job, ask(engine, 2, stranger(2))]
    async with asyncio.timeout(10):
        assert await in_order(engine, model, jobs) == [1, 2]


class _Options:
    """Stands in for faster-whisper: records each decode's options."""

    def __init__(self) -> None:
        self.options: list[dict[str, Any]] = []

    def transcribe(self, audio: Any, **options: Any) -> tuple[list[Any], None]:
        self.options.append(options)
        return [Segment()], None


@pytest.mark.parametrize(
    ("who", "fallback"), [(HOME, True), (stranger(1), False)], ids=["home", "stranger"]
)
async def test_a_strangers_decode_cannot_run_on_and_on(
    who: Authority, fallback: bool
) -> None:
    """The attack: 29 s of "yes yes yes" fell back through five temperatures (15 s) while HA's waited."""
    shared = Engines(Settings(stt_cpu_threads=2))
    model = _Options()
    shared.stt._solo = _Decoder(model, 2)
    shared.stt.ready.set()
    try:
        await shared.stt.transcribe(np.zeros(16000, np.float32), "en", requester=who)
    finally:
        await shared.close()
    (options,) = model.options
    assert ("temperature" not in options) is fallback
    assert ("max_new_tokens" not in options) is fallback
    if not fallback:
        assert options["temperature"] == 0.0
        assert options["max_new_tokens"] <= 128
