"""One connection's wake streams: each word's model loaded once, reset for each stream, its audio-starts paced."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from pymicro_wakeword import MicroWakeWord
import pytest
from wyoming.audio import AudioChunk
from wyoming.event import Event
from wyoming.wake import Detect

from wyoming_services import wake_turn
from wyoming_services.audio import PcmFormat
from wyoming_services.authority import Authority
from wyoming_services.budgets import MIN_START_SECONDS, Listening
from wyoming_services.event_fields import Fields
from wyoming_services.wake import RATE, Detector, chosen
from wyoming_services.wake_turn import Waking

from .test_wake import hear, said

FORMAT = PcmFormat(RATE, 2, 1)
HOME = Authority("wyoming:127.0.0.1", may_act=True)
STRANGER = Authority("wyoming:10.0.0.7", may_act=False)


class Connection:
    """A connection's Waking, driven as the handler drives it; the events it sent back."""

    def __init__(
        self, authority: Authority, listening: Listening | None = None
    ) -> None:
        self.sent: list[Event] = []
        self.pace = (listening or Listening()).pace(authority)
        self.waking = Waking(self._write, self.pace)

    async def _write(self, event: Event) -> None:
        self.sent.append(event)

    async def stream(self, pcm: bytes, names: list[str] | None = None) -> list[str]:
        """Detect, audio-start, the clip in 20 ms chunks, audio-stop; the events sent back."""
        self.sent.clear()
        self.waking.detect(Fields.of(Detect(names=names).event()))
        await self.waking.start(FORMAT)
        for start in range(0, len(pcm), 640):
            chunk = AudioChunk(
                rate=RATE, width=2, channels=1, audio=pcm[start : start + 640]
            )
            await self.waking.chunk(chunk.audio, Fields.of(chunk.event()))
        await self.waking.stop()
        return [event.type for event in self.sent]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model files loaded (a new model and interpreter each) while the test runs."""
    loaded: list[str] = []
    load = MicroWakeWord.from_config

    def counted(config: str | Path) -> MicroWakeWord:
        loaded.append(Path(config).stem)
        return load(config)

    monkeypatch.setattr(MicroWakeWord, "from_config", staticmethod(counted))
    return loaded


def cut_before_detection(pcm: bytes, word: str) -> bytes:
    """The clip up to 30 ms before its detection: one more window of any audio wakes."""
    detector = Detector(chosen([word]))
    for end in range(320, len(pcm), 320):
        if detector.feed(pcm[end - 320 : end]) is not None:
            return pcm[: end - 960]
    raise AssertionError(f"{word} is not heard in the clip")


async def test_audio_starts_on_one_connection_load_each_model_once(
    loads: list[str],
) -> None:
    """The attack: detect, then audio-starts back to back; each loaded all four models again.

    (reviewer's poc_wake_start_cost.py: 1.6-2.2 ms of CPU each, 60 times an ignored
    event.) A stream after one that heard audio resets the words' models, loads nothing.
    """
    connection = Connection(HOME)
    connection.waking.detect(Fields.of(Detect().event()))
    for _ in range(50):
        await connection.waking.start(FORMAT)
    assert sorted(loads) == sorted(word.id for word in chosen(None))
    assert await connection.stream(said("espeak-ng", "Alexa")) == ["detection"]
    assert await connection.stream(said("flite-slt", "Hey Jarvis")) == ["detection"]
    assert len(loads) == 4
    connection.waking.close()


async def test_a_strangers_audio_starts_wait_as_its_audio_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each untrusted audio-start counts as MIN_START_SECONDS of its requester's audio; Home Assistant's are free."""
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(wake_turn, "asyncio", SimpleNamespace(sleep=sleep))
    listening = Listening(clock=lambda: now[0])
    stranger, home = Connection(STRANGER, listening), Connection(HOME, listening)
    for connection in (stranger, home):
        connection.waking.detect(Fields.of(Detect(names=["alexa"]).event()))
        for _ in range(40):
            await connection.waking.start(FORMAT)
        connection.waking.close()
    # Past the 2-s burst, at 1.5 times real time: the last waited for all before it.
    assert max(slept) == pytest.approx((40 * MIN_START_SECONDS - 2) / 1.5)
    assert len(slept) == 40 - round(2 / MIN_START_SECONDS)


async def test_a_word_at_the_very_start_of_the_next_stream_is_heard() -> None:
    """The last stream's detection (and its 2-s quiet) is not the next stream's."""
    connection = Connection(HOME)
    clip = said("flite-awb", "Okay Nabu")
    assert await connection.stream(clip, ["okay_nabu"]) == ["detection"]
    assert await connection.stream(clip[RATE * 2 :], ["okay_nabu"]) == ["detection"]
    connection.waking.close()


async def test_the_tail_of_one_stream_wakes_nothing_in_the_next() -> None:
    """A stream cut just before its word is heard: the models' state goes with it."""
    head = cut_before_detection(said("flite-awb", "Okay Nabu"), "okay_nabu")
    silence = bytes(RATE * 2)
    # Within one stream the silence after it completes the word.
    detector = Detector(chosen(["okay_nabu"]))
    assert hear(detector, head) == []
    assert hear(detector, silence) == ["okay_nabu"]
    detector.close()
    connection = Connection(HOME)
    assert await connection.stream(head, ["okay_nabu"]) == ["not-detected"]
    assert await connection.stream(silence, ["okay_nabu"]) == ["not-detected"]
    connection.waking.close()
